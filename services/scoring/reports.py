"""Reports: the projection as of a moment, handed to the compliance rules.

as_of T keeps the rows recorded at or before T and takes the latest per
aggregate, so a unit, an activity or a prognosis is seen as it was then
(rescheduled later into another period, reported later, revised later: none of
it shows). Without as_of, `now` is the last moment the projection has recorded,
never the clock: the same history and policy give the same report, to the byte.

Reads run in one repeatable-read transaction, so a swap or a consumer commit in
between cannot mix two states into one report.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

import asyncpg

from .domain import (
    WIB,
    ActivityRecord,
    Period,
    Policy,
    PrognosisRecord,
    Report,
    UnitRecord,
    compute_report,
    parse_period,
    parse_policy,
)
from .generations import Generation, current


@dataclass
class Activity:
    """An activity as of the report, with what the dashboard shows beside the record."""

    record: ActivityRecord
    title: str
    publications: list[str] = field(default_factory=list)  # task ids


@dataclass
class Snapshot:
    generation: Generation
    policy: Policy
    period: Period
    as_of: datetime | None
    history_end: datetime | None
    units: dict[str, UnitRecord]
    activities: dict[str, Activity]
    prognoses: dict[str, PrognosisRecord]

    def report(self) -> Report:
        return compute_report(self.policy, self.period, self.units.values(),
                              [a.record for a in self.activities.values()],
                              self.prognoses.values(), as_of=self.as_of,
                              now=None if self.as_of else self.history_end)


@lru_cache(maxsize=16)
def _policy(text: str) -> Policy:
    return parse_policy(text)


def _recorded_by(column: str, param: int) -> str:
    return f"(${param}::timestamptz IS NULL OR {column} <= ${param})"


async def snapshot(pool: asyncpg.Pool, period: str | Period, as_of: datetime | None = None
                   ) -> Snapshot:
    per = period if isinstance(period, Period) else parse_period(period)
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read",
                                                        readonly=True):
        gen = await current(conn)
        g = gen.generation
        return Snapshot(
            generation=gen, policy=_policy(gen.policy_yaml), period=per, as_of=as_of,
            history_end=await _history_end(conn, g),
            units=await _units(conn, g, as_of),
            activities=await _activities(conn, g, per.year, as_of),
            prognoses=await _prognoses(conn, g, per.year, as_of))


async def _history_end(conn: asyncpg.Connection, g: int) -> datetime | None:
    return await conn.fetchval(
        "SELECT greatest((SELECT max(recorded_at) FROM unit_changes WHERE generation = $1),"
        " (SELECT max(recorded_at) FROM activity_changes WHERE generation = $1),"
        " (SELECT max(recorded_at) FROM prognosis_changes WHERE generation = $1),"
        " (SELECT max(recorded_at) FROM publications WHERE generation = $1))", g)


async def _units(conn: asyncpg.Connection, g: int, as_of: datetime | None
                 ) -> dict[str, UnitRecord]:
    rows = await conn.fetch(
        "SELECT * FROM unit_changes WHERE generation = $1 AND " + _recorded_by("recorded_at", 2)
        + " ORDER BY unit_code, version", g, as_of)
    latest: dict[str, Any] = {}
    ids: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        latest[row["unit_code"]] = row
        ids[row["unit_code"]].append(str(row["event_id"]))
    return {code: UnitRecord(code, r["name"], r["kind"], r["active_from"], r["active_until"],
                             tuple(ids[code])) for code, r in latest.items()}


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """Start times whose WIB date falls in `year`."""
    return (datetime.combine(date(year, 1, 1), time.min, WIB),
            datetime.combine(date(year + 1, 1, 1), time.min, WIB))


async def _activities(conn: asyncpg.Connection, g: int, year: int, as_of: datetime | None
                      ) -> dict[str, Activity]:
    """Activities starting in `year` (as of then): the period's, and those that may
    realise an item of the year's prognosis."""
    first, end = year_bounds(year)
    rows = await conn.fetch(
        "WITH candidates AS (SELECT DISTINCT activity_id FROM activity_changes"
        " WHERE generation = $1 AND starts_at >= $3 AND starts_at < $4 AND "
        + _recorded_by("recorded_at", 2) + ")"
        " SELECT c.* FROM activity_changes c JOIN candidates USING (activity_id)"
        " WHERE c.generation = $1 AND " + _recorded_by("c.recorded_at", 2)
        + " ORDER BY c.activity_id, c.version", g, as_of, first, end)
    latest: dict[str, Any] = {}
    ids: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        latest[row["activity_id"]] = row
        ids[row["activity_id"]].append(str(row["event_id"]))
    latest = {k: r for k, r in latest.items() if first <= r["starts_at"] < end}
    published: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for row in await conn.fetch(
            "SELECT activity_id, task_id, event_id FROM publications WHERE generation = $1"
            " AND activity_id = ANY($3::text[]) AND " + _recorded_by("recorded_at", 2)
            + " ORDER BY position", g, as_of, list(latest)):
        published[row["activity_id"]][row["task_id"]].append(str(row["event_id"]))
    out = {}
    for activity_id, r in latest.items():
        tasks = published.get(activity_id, {})
        events = ids[activity_id] + [e for evs in tasks.values() for e in evs]
        record = ActivityRecord(
            activity_id=activity_id, unit_code=r["unit_code"], starts_at=r["starts_at"],
            recorded_at=r["planned_at"], status=r["status"], reported_at=r["reported_at"],
            visibility=r["visibility"], prognosis_item_id=r["prognosis_item_id"],
            published_count=len(tasks), event_ids=tuple(events))
        out[activity_id] = Activity(record, r["title"], sorted(tasks))
    return out


async def _prognoses(conn: asyncpg.Connection, g: int, year: int, as_of: datetime | None
                     ) -> dict[str, PrognosisRecord]:
    rows = await conn.fetch(
        "SELECT * FROM prognosis_changes WHERE generation = $1 AND year = $3 AND "
        + _recorded_by("recorded_at", 2) + " ORDER BY unit_code, version", g, as_of, year)
    latest: dict[str, Any] = {}
    ids: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        latest[row["unit_code"]] = row
        ids[row["unit_code"]].append(str(row["event_id"]))
    return {code: PrognosisRecord(code, year, r["first_submitted_at"], tuple(r["item_ids"]),
                                  tuple(ids[code])) for code, r in latest.items()}


def parse_as_of(text: str | None) -> datetime | None:
    """An ISO datetime (WIB when it has no offset), or a date: the end of that day in WIB."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        day = moment.date()
        moment = moment if moment.tzinfo else moment.replace(tzinfo=WIB)
    else:
        moment = None
    # Far from the calendar's ends, where an offset would overflow.
    if not 1900 <= day.year <= 2200:
        raise ValueError("must be between 1900 and 2200")
    if moment is not None:
        return moment
    return datetime.combine(day + timedelta(days=1), time.min, WIB) - timedelta(microseconds=1)


@dataclass(frozen=True)
class ActivityLine:
    """One activity behind a unit's numbers, with the per-activity judgements."""

    activity: Activity
    in_period: bool
    working_days_ahead: int
    timely: bool
    reported_in_time: bool


@dataclass(frozen=True)
class UnitDetail:
    unit: UnitRecord
    activities: list[ActivityLine]  # in the period first, then realising the prognosis
    prognosis: PrognosisRecord | None


def unit_detail(snap: Snapshot, unit_code: str) -> UnitDetail | None:
    """What lies behind one unit's row: the same records the rules were given."""
    unit = snap.units.get(unit_code)
    if unit is None:
        return None
    policy, calendar = snap.policy, snap.policy.working_calendar()
    forecast = snap.prognoses.get(unit_code)
    items = set(forecast.item_ids) if forecast else set()
    lines = []
    for activity in snap.activities.values():
        a = activity.record
        if a.unit_code != unit_code:
            continue
        start = a.starts_at.astimezone(WIB).date()
        in_period = start in snap.period
        if not in_period and a.prognosis_item_id not in items:
            continue
        ahead = calendar.working_days_between(a.recorded_at.astimezone(WIB).date(), start)
        closes = start + timedelta(days=policy.realisation.window_days)
        reported = (a.status in ("held", "cancelled") and a.reported_at is not None
                    and a.reported_at.astimezone(WIB).date() <= closes)
        lines.append(ActivityLine(activity, in_period, ahead,
                                  ahead >= policy.timeliness.working_days, reported))
    lines.sort(key=lambda x: (not x.in_period, x.activity.record.starts_at,
                              x.activity.record.activity_id))
    return UnitDetail(unit, lines, forecast)
