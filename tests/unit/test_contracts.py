"""Contracts: schemas up to date, envelope attributes, text rules."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from shared.contracts import schemas
from shared.contracts.agenda import AGENDA_EVENTS, ActivityPlanned
from shared.contracts.envelope import StoredEvent, decode, encode, to_cloudevent
from shared.contracts.newsroom import NEWSROOM_EVENTS


def test_committed_json_schemas_match_the_models():
    generated = schemas.generate()
    on_disk = {p.name: p.read_text() for p in schemas.SCHEMA_DIR.glob("*.json")}
    assert set(on_disk) == set(generated), "run `make schemas` and commit the result"
    stale = [name for name, text in generated.items() if on_disk[name] != text]
    assert not stale, f"stale schemas {stale}: run `make schemas` and commit the result"


def test_every_design_routing_key_has_a_versioned_model():
    agenda = {"unit.registered", "unit.updated", "unit.deactivated", "activity.planned",
              "activity.revised", "activity.rescheduled", "activity.cancelled",
              "activity.verified", "activity.held", "prognosis.submitted"}
    newsroom = {"task.created", "task.assigned", "task.submitted", "task.approved",
                "task.rejected", "task.published", "task.cancelled"}
    assert agenda == set(AGENDA_EVENTS.by_key)
    assert newsroom <= set(NEWSROOM_EVENTS.by_key)
    for cls in [*AGENDA_EVENTS, *NEWSROOM_EVENTS]:
        assert cls.ce_type() == f"simalik.{cls.service}.{cls.routing_key}.v{cls.schema_version}"


def _planned(**overrides):
    data = dict(activity_id=str(uuid.uuid4()), unit_code="dinkes", title="Rapat",
                starts_at="2030-01-01T09:00:00", ends_at="2030-01-01T10:00:00",
                category="rapat", visibility="internal")
    data.update(overrides)
    return ActivityPlanned(**data)


def test_datetime_without_offset_is_taken_as_wib():
    event = _planned()
    assert event.starts_at.utcoffset().total_seconds() == 7 * 3600
    assert event.model_dump(mode="json")["starts_at"] == "2030-01-01T09:00:00+07:00"


@pytest.mark.parametrize("title", ["ꦏꦼꦢꦶꦫꦶ Kediri 🎉", "Ruang Kilisuci \u201cBalaikota\u201d"])
def test_any_unicode_round_trips(title):
    event = _planned(title=title)
    stored = StoredEvent(1, "activity-x", 1, uuid.uuid4(), "activity.planned", 1,
                         datetime.now(UTC), event.model_dump(mode="json"), {"unit": "dinkes"})
    ce = decode(encode(to_cloudevent(stored, "agenda", uuid.uuid4())))
    assert ce.data["title"] == title
    assert ActivityPlanned.model_validate(ce.data) == event


@pytest.mark.parametrize("bad, needle", [("Rapat\x00", "NUL byte"), ("Rapat\x07", "U+0007"),
                                         ("Rapat\nbaru", "single line"), ("   ", "blank")])
def test_control_characters_are_rejected_with_a_clear_message(bad, needle):
    with pytest.raises(ValidationError) as info:
        _planned(title=bad)
    error = info.value.errors()[0]
    assert error["loc"] == ("title",)
    assert needle in error["msg"]


def test_envelope_carries_design_attributes():
    stored = StoredEvent(42, "activity-abc", 7, uuid.uuid4(), "activity.cancelled", 1,
                         datetime(2030, 1, 1, tzinfo=UTC), {"x": 1},
                         {"unit": "dinkes", "correlation_id": "c1", "causation_id": "k1"})
    ce = to_cloudevent(stored, "agenda", "e-1")
    assert ce["type"] == "simalik.agenda.activity.cancelled.v1"
    assert ce["source"] == "/simalik/agenda"
    assert ce["subject"] == "activity-abc"
    assert ce["sequence"] == "00000000000000000007"
    assert ce["position"] == 42 and ce["epoch"] == "e-1" and ce["unit"] == "dinkes"
    assert ce["correlationid"] == "c1" and ce["causationid"] == "k1"
    assert sorted([ce["sequence"], to_cloudevent(
        StoredEvent(43, "activity-abc", 10, uuid.uuid4(), "activity.cancelled", 1,
                    datetime.now(UTC), {}, {}), "agenda", "e")["sequence"]]) == [
        "00000000000000000007", "00000000000000000010"]


def test_agenda_publishes_an_asyncapi_document_of_every_event():
    from services.agenda.messaging import asyncapi
    from shared.settings import load

    document = asyncapi(load("agenda")).to_specification().to_jsonable()
    assert len(document["channels"]) == len(list(AGENDA_EVENTS))


def test_stored_json_text_is_spliced_into_the_envelope_unchanged():
    import json

    from shared.contracts.envelope import RawJSON

    data = {"title": "ꦏꦼꦢꦶꦫꦶ 🎉 \"kutip\"", "n": [1, 2.5, None], "nested": {"a": True}}
    stored = StoredEvent(5, "activity-a", 2, uuid.uuid4(), "activity.revised", 1,
                         datetime(2030, 1, 1, tzinfo=UTC), data, {"unit": "dinkes"})
    raw = StoredEvent(*[getattr(stored, f) for f in stored.__slots__[:7]],
                      RawJSON(json.dumps(data, ensure_ascii=False)), stored.metadata)
    assert json.loads(encode(to_cloudevent(raw, "agenda", "e"))) == json.loads(
        encode(to_cloudevent(stored, "agenda", "e")))
    assert decode(encode(to_cloudevent(raw, "agenda", "e"))).data == data
