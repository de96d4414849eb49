from shared.consumer import topic_matches


def test_topic_matching_follows_amqp():
    assert topic_matches("activity.#", "activity.planned")
    assert topic_matches("activity.#", "activity.planned.v2")
    assert topic_matches("#", "unit.registered")
    assert topic_matches("task.*", "task.created")
    assert not topic_matches("task.*", "task.created.v2")
    assert not topic_matches("activity.#", "unit.registered")
    assert topic_matches("activity.#", "activity")


def test_contract_violations_while_applying_are_permanent():
    # Regression: an invalid derived event was retried twenty times.
    from pydantic import ValidationError

    from shared.consumer import PermanentError, is_permanent
    from shared.contracts.agenda import UnitDeactivated

    try:
        UnitDeactivated(unit_code="x", active_until="kemarin", reason="r")
    except ValidationError as exc:
        assert is_permanent(exc)
    assert is_permanent(PermanentError("x")) and not is_permanent(OSError("db down"))
