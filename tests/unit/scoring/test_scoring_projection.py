"""The projection's fold: events become rows of history, in memory, no database."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import pytest

from services.scoring.projections import COLUMNS, Incoming, ProjectionError, fold, target
from shared.contracts.agenda import AGENDA_EVENTS
from shared.contracts.envelope import CloudEvent, format_sequence
from shared.contracts.newsroom import NEWSROOM_EVENTS

ACTIVITY = str(uuid.uuid4())
_position = iter(range(1, 10_000))


def incoming(service: str, stream: str, version: int, key: str, when: str, **data) -> Incoming:
    registry = AGENDA_EVENTS if service == "agenda" else NEWSROOM_EVENTS
    event = registry.by_key[key].model_validate(data)
    ce = CloudEvent(id=str(uuid.uuid4()), source=f"/simalik/{service}",
                    type=event.ce_type(), subject=stream, time=datetime.fromisoformat(when),
                    sequence=format_sequence(version), position=next(_position), epoch="e1",
                    data=event.model_dump(mode="json"))
    return Incoming(ce, event)


def planned(when: str = "2023-11-01T09:00:00+07:00") -> Incoming:
    return incoming("agenda", f"activity-{ACTIVITY}", 1, "activity.planned", when,
                    activity_id=ACTIVITY, unit_code="dinkes", title="Posyandu",
                    starts_at="2023-11-10T08:00:00+07:00", ends_at="2023-11-10T10:00:00+07:00",
                    category="rapat", visibility="internal")


def later(version: int, key: str, when: str, **data) -> Incoming:
    return incoming("agenda", f"activity-{ACTIVITY}", version, key, when,
                    activity_id=ACTIVITY, unit_code="dinkes", **data)


def states(rows: list[tuple], table: str = "activity_changes") -> list[dict]:
    return [dict(zip(COLUMNS[table], row, strict=True)) for row in rows]


def test_each_activity_event_adds_the_state_after_it():
    items = [planned(),
             later(2, "activity.revised", "2023-11-02T09:00:00+07:00", visibility="public",
                   prognosis_item_id="p1"),
             later(3, "activity.verified", "2023-11-03T09:00:00+07:00", verifier_id="v1"),
             later(4, "activity.rescheduled", "2023-11-04T09:00:00+07:00",
                   starts_at="2023-12-01T08:00:00+07:00", ends_at="2023-12-01T09:00:00+07:00",
                   previous_starts_at="2023-11-10T08:00:00+07:00",
                   previous_ends_at="2023-11-10T10:00:00+07:00"),
             later(5, "activity.held", "2023-12-02T09:00:00+07:00")]
    rows = states(fold(7, {}, items)["activity_changes"])
    assert [r["version"] for r in rows] == [1, 2, 3, 4, 5]
    assert {r["generation"] for r in rows} == {7}
    assert [r["event_id"] for r in rows] == [i.ce.id for i in items]
    assert [r["status"] for r in rows] == ["planned", "planned", "verified", "verified", "held"]
    assert rows[1]["visibility"] == "public" and rows[1]["prognosis_item_id"] == "p1"
    assert rows[3]["starts_at"] == datetime.fromisoformat("2023-12-01T08:00:00+07:00")
    # recorded_at of activity.planned stays the entry time; the report time is kept.
    assert {r["planned_at"] for r in rows} == {items[0].ce.time}
    assert rows[4]["reported_at"] == items[4].ce.time and rows[3]["reported_at"] is None


def test_a_page_folds_like_one_event_at_a_time():
    items = [planned(), later(2, "activity.cancelled", "2023-11-05T09:00:00+07:00",
                              reason="Hujan")]
    whole = fold(1, {}, items)["activity_changes"]
    first = fold(1, {}, items[:1])["activity_changes"]
    prior = {("activity_changes", (ACTIVITY,)): {
        k: v for k, v in states(first)[0].items()
        if k not in ("generation", "activity_id", "version", "event_id", "event_type",
                     "position", "recorded_at")}}
    second = fold(1, prior, items[1:])["activity_changes"]
    assert whole == first + second
    assert states(second)[0]["status"] == "cancelled"


def test_units_keep_business_dates_through_updates_and_deactivation():
    stream = "unit-dinkes"
    items = [
        incoming("agenda", stream, 1, "unit.registered", "2024-01-01T00:00:00+07:00",
                 unit_code="dinkes", name="Dinas Kesehatan", kind="dinas",
                 active_from="2021-01-01"),
        incoming("agenda", stream, 2, "unit.updated", "2024-01-02T00:00:00+07:00",
                 unit_code="dinkes", name="Dinas Kesehatan dan KB"),
        incoming("agenda", stream, 3, "unit.deactivated", "2024-01-03T00:00:00+07:00",
                 unit_code="dinkes", active_until="2023-10-31", reason="Digabung"),
    ]
    rows = states(fold(1, {}, items)["unit_changes"], "unit_changes")
    assert [r["name"] for r in rows] == ["Dinas Kesehatan", "Dinas Kesehatan dan KB",
                                         "Dinas Kesehatan dan KB"]
    assert {r["active_from"] for r in rows} == {date(2021, 1, 1)}
    assert [r["active_until"] for r in rows] == [None, None, date(2023, 10, 31)]


def test_a_prognosis_revision_replaces_items_but_keeps_the_first_submission():
    def submitted(revision: int, when: str, items: list[str]) -> Incoming:
        return incoming("agenda", "prognosis-dinkes-2024", revision, "prognosis.submitted",
                        when, unit_code="dinkes", year=2024, revision=revision,
                        items=[{"item_id": i, "title": i, "month": 3, "category": "rapat"}
                               for i in items])

    first = submitted(1, "2024-01-20T09:00:00+07:00", ["a", "b"])
    rows = states(fold(1, {}, [first, submitted(2, "2024-02-20T09:00:00+07:00", ["c"])])
                  ["prognosis_changes"], "prognosis_changes")
    assert [r["item_ids"] for r in rows] == [["a", "b"], ["c"]]
    assert {r["first_submitted_at"] for r in rows} == {first.ce.time}
    assert [r["year"] for r in rows] == [2024, 2024]


def test_only_published_tasks_become_publications():
    task = str(uuid.uuid4())
    common = {"task_id": task, "activity_id": ACTIVITY, "unit_code": "dinkes"}
    items = [
        incoming("newsroom", f"task-{task}", 1, "task.created", "2023-11-09T09:00:00+07:00",
                 kind="press_release", channel="website", title="Rilis",
                 due_at="2023-11-10T12:00:00+07:00", rule_id="r1", **common),
        incoming("newsroom", f"task-{task}", 2, "task.assigned", "2023-11-09T10:00:00+07:00",
                 assignee_id="staf-1", **common),
        incoming("newsroom", f"task-{task}", 3, "task.published", "2023-11-10T13:00:00+07:00",
                 url="https://kedirikota.go.id/p/1", published_at="2023-11-10T13:00:00+07:00",
                 **common),
    ]
    assert [target(i.event) for i in items[:2]] == [None, None]
    rows = fold(1, {}, items)
    assert sum(len(r) for r in rows.values()) == 1
    (row,) = states(rows["publications"], "publications")
    assert (row["task_id"], row["activity_id"], row["version"]) == (task, ACTIVITY, 3)
    assert row["url"] == "https://kedirikota.go.id/p/1"


def test_an_event_for_an_activity_never_planned_is_refused():
    with pytest.raises(ProjectionError):
        fold(1, {}, [later(2, "activity.held", "2023-11-11T09:00:00+07:00")])
