"""The agenda's own read views. They change in the same transaction as the events
(the event store calls `project` inside each group commit), so a GET right after
a POST sees the change."""

from __future__ import annotations

import asyncpg

from shared.contracts.agenda import AGENDA_EVENTS
from shared.contracts.envelope import StoredEvent


async def project(conn: asyncpg.Connection, events: list[StoredEvent]) -> None:
    for stored in events:
        handler = _PROJECTORS.get(stored.type)
        if handler:
            event = AGENDA_EVENTS.load(stored.type, stored.schema_version, stored.data)
            await handler(conn, event, stored)


async def _unit_registered(conn, e, s: StoredEvent) -> None:
    await conn.execute(
        "INSERT INTO units_view (code, name, kind, parent_code, active_from, active_until,"
        " pic_id, verifikator_id, version, updated_at)"
        " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)",
        e.unit_code, e.name, e.kind, e.parent_code, e.active_from, e.active_until,
        e.pic_id, e.verifikator_id, s.version, s.recorded_at)


async def _unit_updated(conn, e, s: StoredEvent) -> None:
    changes = e.model_dump(exclude={"unit_code"}, exclude_none=True)
    sets = ", ".join(f"{col} = ${i}" for i, col in enumerate(changes, start=4))
    await conn.execute(
        f"UPDATE units_view SET version = $2, updated_at = $3{', ' + sets if sets else ''}"
        " WHERE code = $1", e.unit_code, s.version, s.recorded_at, *changes.values())


async def _unit_deactivated(conn, e, s: StoredEvent) -> None:
    await conn.execute(
        "UPDATE units_view SET deactivated = true, active_until = $2, version = $3,"
        " updated_at = $4 WHERE code = $1", e.unit_code, e.active_until, s.version, s.recorded_at)


async def _activity_planned(conn, e, s: StoredEvent) -> None:
    await conn.execute(
        "INSERT INTO activities_view (activity_id, unit_code, title, description, starts_at,"
        " ends_at, location, category, visibility, leaders, contact_id, prognosis_item_id,"
        " status, origin, version, recorded_at, updated_at)"
        " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,'planned',$13,$14,$15,$15)",
        e.activity_id, e.unit_code, e.title, e.description, e.starts_at, e.ends_at, e.location,
        e.category, e.visibility, list(e.leaders), e.contact_id, e.prognosis_item_id, e.origin,
        s.version, s.recorded_at)


async def _activity_revised(conn, e, s: StoredEvent) -> None:
    changes = e.model_dump(exclude={"activity_id", "unit_code"}, exclude_none=True)
    sets = "".join(f", {col} = ${i}" for i, col in enumerate(changes, start=4))
    await conn.execute(
        f"UPDATE activities_view SET version = $2, updated_at = $3{sets} WHERE activity_id = $1",
        e.activity_id, s.version, s.recorded_at, *changes.values())


async def _activity_rescheduled(conn, e, s: StoredEvent) -> None:
    await conn.execute(
        "UPDATE activities_view SET starts_at = $2, ends_at = $3, version = $4, updated_at = $5"
        " WHERE activity_id = $1", e.activity_id, e.starts_at, e.ends_at, s.version,
        s.recorded_at)


async def _activity_cancelled(conn, e, s: StoredEvent) -> None:
    await conn.execute(
        "UPDATE activities_view SET status = 'cancelled', cancel_reason = $2, version = $3,"
        " updated_at = $4 WHERE activity_id = $1", e.activity_id, e.reason, s.version,
        s.recorded_at)


async def _activity_verified(conn, e, s: StoredEvent) -> None:
    await conn.execute(
        "UPDATE activities_view SET verified = true,"
        " status = CASE WHEN status = 'planned' THEN 'verified' ELSE status END,"
        " version = $2, updated_at = $3 WHERE activity_id = $1",
        e.activity_id, s.version, s.recorded_at)


async def _activity_held(conn, e, s: StoredEvent) -> None:
    await conn.execute(
        "UPDATE activities_view SET status = 'held', documentation_links = $2, version = $3,"
        " updated_at = $4 WHERE activity_id = $1",
        e.activity_id, [str(u) for u in e.documentation_links], s.version, s.recorded_at)


async def _prognosis_submitted(conn, e, s: StoredEvent) -> None:
    await conn.execute(
        "INSERT INTO prognoses_view (unit_code, year, revision, items, first_submitted_at,"
        " submitted_at, version) VALUES ($1,$2,$3,$4,$5,$5,$6)"
        " ON CONFLICT (unit_code, year) DO UPDATE SET revision = $3, items = $4,"
        " submitted_at = $5, version = $6",
        e.unit_code, e.year, e.revision, [i.model_dump(mode="json") for i in e.items],
        s.recorded_at, s.version)


_PROJECTORS = {
    "unit.registered": _unit_registered,
    "unit.updated": _unit_updated,
    "unit.deactivated": _unit_deactivated,
    "activity.planned": _activity_planned,
    "activity.revised": _activity_revised,
    "activity.rescheduled": _activity_rescheduled,
    "activity.cancelled": _activity_cancelled,
    "activity.verified": _activity_verified,
    "activity.held": _activity_held,
    "prognosis.submitted": _prognosis_submitted,
}
