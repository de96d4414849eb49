"""The public ICS feed GET /v1/calendar.ics (services/agenda/calendar.py)."""

from __future__ import annotations

import re
from datetime import datetime

from icalendar import Calendar, Event

UNITS = [{"code": "dinkes", "name": "Dinas Kesehatan", "kind": "dinas",
          "active_from": "2020-01-01"},
         {"code": "kec_kota", "name": "Kecamatan Kota", "kind": "kecamatan",
          "active_from": "2020-01-01"}]


def activity(title: str, **overrides):
    body = {"unit_code": "dinkes", "title": title, "description": "Pemeriksaan balita",
            "starts_at": "2030-03-02T08:00:00+07:00", "ends_at": "2030-03-02T11:00:00+07:00",
            "location": "Kelurahan Balowerti", "category": "pelayanan_publik",
            "visibility": "public", "leaders": ["walikota"]}
    body.update(overrides)
    return body


async def post(client, url: str, body: dict) -> dict:
    r = await client.post(url, json=body)
    assert r.status_code in (200, 201), r.text
    return r.json()


async def fetch(client, **params) -> tuple[Calendar, str]:
    r = await client.get("/v1/calendar.ics", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/calendar")
    return Calendar.from_ical(r.content), r.text


async def feed(client, **params) -> dict[str, Event]:
    cal, _ = await fetch(client, **params)
    return {str(e["uid"]): e for e in cal.walk("VEVENT")}


async def test_feed_follows_changes_with_sequence_and_status(agenda_client):
    for unit in UNITS:
        await post(agenda_client, "/v1/units", unit)
    posyandu = await post(agenda_client, "/v1/activities", activity("Posyandu balita"))
    rapat = await post(agenda_client, "/v1/activities", activity(
        "Rapat kecamatan", unit_code="kec_kota", leaders=["sekda"],
        starts_at="2030-03-05T13:00:00+07:00", ends_at="2030-03-05T15:00:00+07:00"))
    await post(agenda_client, "/v1/activities", activity("Rapat internal",
                                                         visibility="internal"))
    uid, rapat_uid = f"{posyandu['id']}@simalik", f"{rapat['id']}@simalik"

    cal, raw = await fetch(agenda_client)
    events = {str(e["uid"]): e for e in cal.walk("VEVENT")}
    assert "DTSTART;TZID=Asia/Jakarta:20300302T080000" in raw.replace("\r\n ", "")
    assert re.search(r"^DTSTAMP:\d{8}T\d{6}Z\r?$", raw, re.MULTILINE)  # UTC, as RFC 5545 wants
    assert set(events) == {uid, rapat_uid}  # internal activities stay out of the public feed
    zones = [str(z["tzid"]) for z in cal.walk("VTIMEZONE")]
    assert zones == ["Asia/Jakarta"]
    first = events[uid]
    assert first["sequence"] == 0 and str(first["status"]) == "CONFIRMED"
    assert first["dtstart"].params["TZID"] == "Asia/Jakarta"
    assert first["dtstart"].dt.isoformat() == "2030-03-02T08:00:00+07:00"
    assert first["dtend"].dt.isoformat() == "2030-03-02T11:00:00+07:00"
    assert str(first["summary"]) == "Posyandu balita"
    assert str(first["location"]) == "Kelurahan Balowerti"
    assert isinstance(first["dtstamp"].dt, datetime)

    await post(agenda_client, f"/v1/activities/{posyandu['id']}/reschedule",
               {"expected_version": 1, "starts_at": "2030-03-09T09:00:00+07:00",
                "ends_at": "2030-03-09T12:00:00+07:00", "reason": "bentrok jadwal"})
    moved = (await feed(agenda_client))[uid]
    assert moved["sequence"] == 1
    assert moved["dtstart"].dt.isoformat() == "2030-03-09T09:00:00+07:00"
    assert moved["dtstart"].params["TZID"] == "Asia/Jakarta"
    # DTSTAMP has whole seconds only; SEQUENCE is what orders revisions (RFC 5545 3.8.7.4)
    assert moved["dtstamp"].dt >= first["dtstamp"].dt

    await post(agenda_client, f"/v1/activities/{posyandu['id']}/cancel",
               {"expected_version": 2, "reason": "hujan deras"})
    cancelled = (await feed(agenda_client))[uid]
    assert cancelled["sequence"] == 2 and str(cancelled["status"]) == "CANCELLED"
    assert cancelled["dtstamp"].dt >= moved["dtstamp"].dt
    assert str(cancelled["uid"]) == uid

    assert set(await feed(agenda_client, unit="kec_kota")) == {rapat_uid}
    assert set(await feed(agenda_client, unit="dinkes")) == {uid}
    assert set(await feed(agenda_client, leader="walikota")) == {uid}
    assert set(await feed(agenda_client, leader="sekda")) == {rapat_uid}
    assert await feed(agenda_client, leader="lurah") == {}
    assert await feed(agenda_client, unit="kec_kota", leader="walikota") == {}


async def test_an_empty_feed_is_still_a_valid_calendar(agenda_client):
    r = await agenda_client.get("/v1/calendar.ics")
    assert r.status_code == 200
    cal = Calendar.from_ical(r.content)
    assert str(cal["version"]) == "2.0" and str(cal["prodid"]).startswith("-//")
    assert cal.walk("VEVENT") == []
