"""The newsroom's reactions to activity events, in memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.newsroom import handlers as h
from services.newsroom.domain import ActivityFacts, Task
from services.newsroom.rules import load_rules
from shared.contracts.agenda import ActivityCancelled, ActivityPlanned, ActivityRescheduled
from shared.contracts.agenda import ActivityRevised as Revised

from .factories import AgendaStream

RULES = load_rules()
NOW = datetime(2030, 2, 1, 3, tzinfo=UTC)


def planned(**overrides):
    stream = AgendaStream()
    event = ActivityPlanned.model_validate(stream.planned(**overrides)["data"])
    activity = ActivityFacts.planned(event)
    tasks: h.Tasks = {}
    h.on_planned(event, activity, tasks, RULES, NOW)
    return stream, activity, {k: Task.replay(t.pending) for k, t in tasks.items()}


def test_planning_twice_makes_no_second_task():
    stream, activity, tasks = planned()
    event = ActivityPlanned.model_validate(stream.planned()["data"])
    again = dict(tasks)
    h.on_planned(event, activity, again, RULES, NOW)
    assert again.keys() == tasks.keys()
    assert all(not t.pending for t in again.values())


def test_reschedule_moves_open_tasks_only():
    stream, activity, tasks = planned()
    published = next(t for t in tasks.values() if t.rule_id == "public-teaser-instagram")
    published.status = "published"
    event = ActivityRescheduled.model_validate(stream.rescheduled(timedelta(days=2))["data"])
    moved = activity.evolve(event, 2)
    h.on_rescheduled(event, moved, tasks, RULES, NOW)
    assert published.pending == []
    recap = next(t for t in tasks.values() if t.rule_id == "public-recap-instagram")
    assert recap.pending[-1].due_at == activity.ends_at + timedelta(days=2, hours=6)
    assert recap.pending[-1].previous_due_at == activity.ends_at + timedelta(hours=6)


def test_cancel_after_publication_cancels_the_rest_and_adds_a_correction():
    stream, activity, tasks = planned()
    teaser = next(t for t in tasks.values() if t.rule_id == "public-teaser-instagram")
    teaser.status = "published"
    event = ActivityCancelled.model_validate(stream.cancelled("Banjir")["data"])
    h.on_cancelled(event, activity.evolve(event, 2), tasks, RULES, NOW)
    cancelled = [t for t in tasks.values() if t.status == "cancelled"]
    assert len(cancelled) == 7
    assert cancelled[0].pending[-1].reason == "Kegiatan dibatalkan: Banjir"
    corrections = [t for t in tasks.values() if t.kind == "correction"]
    assert [(c.channel, c.status) for c in corrections] == [("instagram", "created")]
    assert corrections[0].due_at == NOW + timedelta(hours=2)


def test_cancel_before_publication_adds_no_correction():
    stream, activity, tasks = planned()
    event = ActivityCancelled.model_validate(stream.cancelled()["data"])
    h.on_cancelled(event, activity.evolve(event, 2), tasks, RULES, NOW)
    assert not any(t.kind == "correction" for t in tasks.values())


def test_revision_retitles_open_tasks_and_follows_the_rules():
    stream, activity, tasks = planned()
    event = Revised.model_validate(stream.revised(title="Posyandu lansia", leaders=[])["data"])
    h.on_revised(event, activity.evolve(event, 2), tasks, RULES, NOW)
    by_rule = {t.rule_id: t for t in tasks.values()}
    assert by_rule["public-coverage"].title == "Liputan (Website): Posyandu lansia"
    # The Wali Kota no longer attends: the leaders' extra tasks go.
    assert by_rule["leader-recap-x"].status == "cancelled"
    assert by_rule["public-recap-instagram"].status == "created"
