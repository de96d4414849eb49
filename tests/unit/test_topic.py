from shared.consumer import topic_matches


def test_topic_matching_follows_amqp():
    assert topic_matches("activity.#", "activity.planned")
    assert topic_matches("activity.#", "activity.planned.v2")
    assert topic_matches("#", "unit.registered")
    assert topic_matches("task.*", "task.created")
    assert not topic_matches("task.*", "task.created.v2")
    assert not topic_matches("activity.#", "unit.registered")
    assert topic_matches("activity.#", "activity")
