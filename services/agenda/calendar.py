"""The public activities as an RFC 5545 calendar, for Google Calendar and the like."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from icalendar import Calendar, Event

from shared.contracts.types import JAKARTA

LEADER_NAMES = {
    "walikota": "Wali Kota", "wakil_walikota": "Wakil Wali Kota", "pj_walikota": "Pj Wali Kota",
    "sekda": "Sekda", "asisten": "Asisten", "kepala_opd": "Kepala OPD", "camat": "Camat",
    "lurah": "Lurah",
}


def render_calendar(rows: Iterable[Any]) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//Pemerintah Kota Kediri//SI-MALIK//ID")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "Agenda Kegiatan Pemerintah Kota Kediri")
    cal.add("x-wr-timezone", "Asia/Jakarta")
    for row in rows:
        event = Event()
        event.add("uid", f"{row['activity_id']}@simalik")
        # Each change to an activity is one event in its stream, so the stream version
        # minus one is a SEQUENCE that rises on every change.
        event.add("sequence", row["version"] - 1)
        event.add("dtstamp", row["updated_at"])
        event.add("last-modified", row["updated_at"])
        event.add("created", row["recorded_at"])
        event.add("dtstart", row["starts_at"].astimezone(JAKARTA))
        event.add("dtend", row["ends_at"].astimezone(JAKARTA))
        event.add("summary", row["title"])
        if row["description"]:
            event.add("description", row["description"])
        if row["location"]:
            event.add("location", row["location"])
        event.add("categories", [row["category"]])
        event.add("status", "CANCELLED" if row["status"] == "cancelled" else "CONFIRMED")
        leaders = [LEADER_NAMES.get(x, x) for x in row["leaders"]]
        if leaders:
            event.add("x-simalik-leaders", ", ".join(leaders))
        event.add("x-simalik-unit", row["unit_code"])
        cal.add_component(event)
    cal.add_missing_timezones()
    for timezone in cal.walk("VTIMEZONE"):
        # icalendar notes in English that its rules stop in 2038; Asia/Jakarta has
        # had no change since 1964, so the note only confuses readers.
        timezone.pop("COMMENT", None)
    return cal.to_ical()
