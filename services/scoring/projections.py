"""Scoring's projection: the facts the compliance rules read, kept as history.

Each event that changes a unit, an activity or a prognosis adds one row holding
the aggregate's state after it, with the event's id, position and recorded_at;
each task.published adds a publication row. Nothing is updated in place, so
"as of T" is a filter (rows recorded at or before T, the latest per aggregate)
and every figure can name the events behind it (services/scoring/reports.py).

The live consumer and the rebuild call the same `project`: the consumer with
one event, the rebuild with a page of thousands — folded in memory from the
latest stored state of the aggregates the page touches, written with COPY.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from shared.contracts.agenda import (
    ActivityCancelled,
    ActivityHeld,
    ActivityPlanned,
    ActivityRescheduled,
    ActivityRevised,
    ActivityVerified,
    PrognosisSubmitted,
    UnitDeactivated,
    UnitRegistered,
    UnitUpdated,
)
from shared.contracts.base import Event
from shared.contracts.envelope import CloudEvent
from shared.contracts.newsroom import TaskPublished

# Row identity first, then the state the rules read.
META = ("generation", "version", "event_id", "event_type", "position", "recorded_at")
STATE = {
    "unit_changes": ("name", "kind", "active_from", "active_until"),
    "activity_changes": ("unit_code", "title", "starts_at", "planned_at", "status",
                         "reported_at", "visibility", "prognosis_item_id"),
    "prognosis_changes": ("revision", "first_submitted_at", "item_ids"),
}
KEYS = {"unit_changes": ("unit_code",), "activity_changes": ("activity_id",),
        "prognosis_changes": ("unit_code", "year")}
COLUMNS = {table: KEYS[table] + META + STATE[table] for table in STATE}
COLUMNS["publications"] = ("generation", "event_id", "task_id", "version", "activity_id",
                           "unit_code", "event_type", "position", "recorded_at", "url")
TABLES_BY_SOURCE = {"/simalik/agenda": ("unit_changes", "activity_changes", "prognosis_changes"),
                    "/simalik/newsroom": ("publications",)}


class ProjectionError(Exception):
    """An event that cannot follow the state before it: a bug or a broken history."""


@dataclass(frozen=True, slots=True)
class Incoming:
    """An event as received: the envelope (ids, position, time) and its typed data."""

    ce: CloudEvent
    event: Event


def target(event: Event) -> tuple[str, tuple[Any, ...]] | None:
    """The table and aggregate key an event changes; None when scoring ignores it."""
    match event:
        case UnitRegistered() | UnitUpdated() | UnitDeactivated():
            return "unit_changes", (event.unit_code,)
        case PrognosisSubmitted():
            return "prognosis_changes", (event.unit_code, event.year)
        case TaskPublished():
            return "publications", (event.task_id,)
    activity_id = getattr(event, "activity_id", None)
    if event.service == "agenda" and activity_id is not None:
        return "activity_changes", (activity_id,)
    return None


def _unit(prior: dict[str, Any] | None, e: Event, _ce: CloudEvent) -> dict[str, Any]:
    if isinstance(e, UnitRegistered):
        return {"name": e.name, "kind": e.kind, "active_from": e.active_from,
                "active_until": e.active_until}
    state = dict(_require(prior, e))
    if isinstance(e, UnitUpdated):
        changes = e.model_dump(include=set(STATE["unit_changes"]), exclude_none=True)
        state.update(changes)
    elif isinstance(e, UnitDeactivated):
        state["active_until"] = e.active_until
    return state


def _activity(prior: dict[str, Any] | None, e: Event, ce: CloudEvent) -> dict[str, Any]:
    if isinstance(e, ActivityPlanned):
        return {"unit_code": e.unit_code, "title": e.title, "starts_at": e.starts_at,
                "planned_at": ce.time, "status": "planned", "reported_at": None,
                "visibility": e.visibility, "prognosis_item_id": e.prognosis_item_id}
    state = dict(_require(prior, e))
    match e:
        case ActivityRevised():
            state.update(e.model_dump(include={"title", "visibility", "prognosis_item_id"},
                                      exclude_none=True))
        case ActivityRescheduled():
            state["starts_at"] = e.starts_at
        case ActivityCancelled():
            state.update(status="cancelled", reported_at=ce.time)
        case ActivityHeld():
            state.update(status="held", reported_at=ce.time)
        case ActivityVerified():
            if state["status"] == "planned":
                state["status"] = "verified"
    return state


def _prognosis(prior: dict[str, Any] | None, e: PrognosisSubmitted, ce: CloudEvent
               ) -> dict[str, Any]:
    # The deadline is judged on the first submission; a revision replaces the items.
    first = prior["first_submitted_at"] if prior else ce.time
    return {"revision": e.revision, "first_submitted_at": first,
            "item_ids": [item.item_id for item in e.items]}


_FOLD = {"unit_changes": _unit, "activity_changes": _activity, "prognosis_changes": _prognosis}


def _require(prior: dict[str, Any] | None, e: Event) -> dict[str, Any]:
    if prior is None:
        raise ProjectionError(f"{e.routing_key} for an aggregate scoring has not seen created")
    return prior


def fold(generation: int, priors: dict[tuple[str, tuple], dict[str, Any]],
         items: Iterable[Incoming]) -> dict[str, list[tuple]]:
    """Rows to append for `items` (in stream order), given each aggregate's latest
    state before them. Pure: the same events and priors give the same rows."""
    latest = dict(priors)
    rows: dict[str, list[tuple]] = {table: [] for table in COLUMNS}
    for item in items:
        found = target(item.event)
        if found is None:
            continue
        table, key = found
        ce, e = item.ce, item.event
        if table == "publications":
            rows[table].append((generation, ce.id, e.task_id, ce.stream_version, e.activity_id,
                                e.unit_code, ce.routing_key, ce.position, ce.time, str(e.url)))
            continue
        state = _FOLD[table](latest.get((table, key)), e, ce)
        latest[(table, key)] = state
        meta = (generation, ce.stream_version, ce.id, ce.routing_key, ce.position, ce.time)
        rows[table].append(key + meta + tuple(state[c] for c in STATE[table]))
    return rows


async def load_priors(conn: asyncpg.Connection, generation: int, items: Sequence[Incoming]
                      ) -> dict[tuple[str, tuple], dict[str, Any]]:
    """The latest stored state of every aggregate the items touch: one query per table."""
    wanted: dict[str, set[tuple]] = {table: set() for table in STATE}
    for item in items:
        found = target(item.event)
        if found and found[0] in wanted:
            wanted[found[0]].add(found[1])
    priors: dict[tuple[str, tuple], dict[str, Any]] = {}
    for table, keys in wanted.items():
        if not keys:
            continue
        key_cols = KEYS[table]
        columns = ", ".join(key_cols + STATE[table])
        unnest = ", ".join(f"${i + 2}::{'int' if c == 'year' else 'text'}[]"
                           for i, c in enumerate(key_cols))
        rows = await conn.fetch(
            f"SELECT DISTINCT ON ({', '.join(key_cols)}) {columns} FROM {table}"
            f" WHERE generation = $1 AND ({', '.join(key_cols)}) IN"
            f" (SELECT * FROM unnest({unnest}))"
            f" ORDER BY {', '.join(key_cols)}, version DESC",
            generation, *([k[i] for k in keys] for i in range(len(key_cols))))
        for row in rows:
            key = tuple(row[c] for c in key_cols)
            priors[(table, key)] = {c: row[c] for c in STATE[table]}
    return priors


async def write(conn: asyncpg.Connection, rows: dict[str, list[tuple]]) -> int:
    written = 0
    for table, records in rows.items():
        if records:
            await conn.copy_records_to_table(table, records=records, columns=COLUMNS[table])
            written += len(records)
    return written


async def project(conn: asyncpg.Connection, generation: int, items: Sequence[Incoming]) -> int:
    """Fold `items` into `generation` on the caller's transaction; returns rows written."""
    priors = await load_priors(conn, generation, items)
    return await write(conn, fold(generation, priors, items))


async def clear(conn: asyncpg.Connection, generation: int, source: str | None = None) -> None:
    """Drop a generation's rows (of one source's tables, or all)."""
    tables = TABLES_BY_SOURCE[source] if source else tuple(COLUMNS)
    for table in tables:
        await conn.execute(f"DELETE FROM {table} WHERE generation = $1", generation)
