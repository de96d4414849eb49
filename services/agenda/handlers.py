"""Command handlers: load the aggregate, let it decide, append what it recorded.

Every handler takes the command, a `Context` (who asks, tracing ids, idempotency)
and the `Agenda` dependencies; the mapping at the bottom lists the whole
behaviour of the service."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg

from shared.aggregate import Aggregate, InvalidState
from shared.contracts.agenda import AGENDA_EVENTS
from shared.eventstore import EventStore, Idempotency, NewEvent

from . import commands as c
from .domain import Activity, Prognosis, Unit, activity_stream, prognosis_stream, unit_stream


@dataclass(frozen=True)
class Context:
    """Who issues the command, and how to trace it. `actor` comes from one place
    (the API's `current_actor`), so authenticated identity can replace it."""

    actor: str
    correlation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    causation_id: str | None = None
    idempotency_key: str | None = None
    request_hash: str | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def metadata(self) -> dict[str, Any]:
        meta = {"actor": self.actor, "correlation_id": self.correlation_id,
                "causation_id": self.causation_id or self.correlation_id}
        if self.idempotency_key:
            meta["idempotency_key"] = self.idempotency_key
        return meta


@dataclass(frozen=True)
class Result:
    id: str
    version: int

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version}


@dataclass
class Agenda:
    store: EventStore
    pool: asyncpg.Pool


A = TypeVar("A", bound=Aggregate)


async def load(store: EventStore, cls: type[A], stream_id: str) -> A:
    events = [AGENDA_EVENTS.load(e.type, e.schema_version, e.data)
              for e in await store.read_stream(stream_id)]
    return cls.replay(events)


async def save(store: EventStore, ctx: Context, stream_id: str, aggregate: Aggregate,
               result_id: str, status: int = 200, extra: dict[str, Any] | None = None) -> Result:
    new_version = aggregate.version + len(aggregate.pending)
    result = Result(result_id, new_version)
    idempotency = None
    if ctx.idempotency_key:
        idempotency = Idempotency(ctx.idempotency_key, ctx.request_hash or "", status,
                                  {**result.as_dict(), **(extra or {})})
    if not aggregate.pending:
        return result
    meta = ctx.metadata()
    await store.append(stream_id, aggregate.version,
                       [NewEvent.of(e, meta) for e in aggregate.pending], idempotency)
    return result


def _check_expected(aggregate: Aggregate, expected: int | None) -> None:
    if expected is not None and expected != aggregate.version:
        raise InvalidState(
            f"stale expected_version {expected}: the current version is {aggregate.version}",
            "expected_version")


async def _store_person(pool: asyncpg.Pool, person: c.Person | None, role: str,
                        unit_code: str | None) -> str | None:
    if person is None:
        return None
    return await pool.fetchval(
        "INSERT INTO people (id, name, phone, email, role, unit_code) "
        "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        str(uuid.uuid4()), person.name, person.phone, person.email, role, unit_code)


# -- units ---------------------------------------------------------------------------

async def register_unit(cmd: c.RegisterUnit, ctx: Context, app: Agenda) -> Result:
    unit = await load(app.store, Unit, unit_stream(cmd.code))
    if unit.exists:
        raise InvalidState(f"unit {cmd.code} is already registered", "code")
    fields = cmd.model_dump(exclude={"code", "pic", "verifikator"})
    unit.register(unit_code=cmd.code, **fields,
                  pic_id=await _store_person(app.pool, cmd.pic, "pic", cmd.code),
                  verifikator_id=await _store_person(app.pool, cmd.verifikator, "verifikator",
                                                     cmd.code))
    return await save(app.store, ctx, unit_stream(cmd.code), unit, cmd.code, 201)


async def update_unit(code: str, cmd: c.UpdateUnit, ctx: Context, app: Agenda) -> Result:
    unit = await load(app.store, Unit, unit_stream(code))
    _check_expected(unit, cmd.expected_version)
    fields = cmd.model_dump(exclude={"expected_version", "pic", "verifikator"}, exclude_none=True)
    if cmd.pic:
        fields["pic_id"] = await _store_person(app.pool, cmd.pic, "pic", code)
    if cmd.verifikator:
        fields["verifikator_id"] = await _store_person(app.pool, cmd.verifikator,
                                                       "verifikator", code)
    unit.update(**fields)
    return await save(app.store, ctx, unit_stream(code), unit, code)


async def deactivate_unit(code: str, cmd: c.DeactivateUnit, ctx: Context, app: Agenda) -> Result:
    unit = await load(app.store, Unit, unit_stream(code))
    _check_expected(unit, cmd.expected_version)
    unit.deactivate(cmd.active_until, cmd.reason)
    return await save(app.store, ctx, unit_stream(code), unit, code)


# -- activities ----------------------------------------------------------------------

async def plan_activity(cmd: c.PlanActivity, ctx: Context, app: Agenda, *,
                        activity_id: str | None = None, origin: str = "api",
                        import_ref: str | None = None) -> Result:
    activity_id = activity_id or str(uuid.uuid4())
    unit = await load(app.store, Unit, unit_stream(cmd.unit_code))
    activity = await load(app.store, Activity, activity_stream(activity_id))
    if activity.exists:
        # An import row seen before (its id is derived from the row): nothing to add.
        return Result(activity_id, activity.version)
    fields = cmd.model_dump(exclude={"contact"})
    activity.plan(unit, activity_id=activity_id, origin=origin, import_ref=import_ref,
                  contact_id=await _store_person(app.pool, cmd.contact, "contact",
                                                 cmd.unit_code) if unit.exists else None,
                  **fields)
    return await save(app.store, ctx, activity_stream(activity_id), activity, activity_id, 201)


async def _activity(app: Agenda, activity_id: str, expected: int) -> Activity:
    activity = await load(app.store, Activity, activity_stream(activity_id))
    if activity.exists:
        _check_expected(activity, expected)
    return activity


async def revise_activity(activity_id: str, cmd: c.ReviseActivity, ctx: Context,
                          app: Agenda) -> Result:
    activity = await _activity(app, activity_id, cmd.expected_version)
    changes = cmd.model_dump(exclude={"expected_version", "contact"}, exclude_none=True)
    if cmd.contact:
        changes["contact_id"] = await _store_person(app.pool, cmd.contact, "contact",
                                                    activity.unit_code)
    activity.revise(**changes)
    return await save(app.store, ctx, activity_stream(activity_id), activity, activity_id)


async def reschedule_activity(activity_id: str, cmd: c.RescheduleActivity, ctx: Context,
                              app: Agenda) -> Result:
    activity = await _activity(app, activity_id, cmd.expected_version)
    activity.reschedule(cmd.starts_at, cmd.ends_at, cmd.reason)
    return await save(app.store, ctx, activity_stream(activity_id), activity, activity_id)


async def cancel_activity(activity_id: str, cmd: c.CancelActivity, ctx: Context,
                          app: Agenda) -> Result:
    activity = await _activity(app, activity_id, cmd.expected_version)
    activity.cancel(cmd.reason)
    return await save(app.store, ctx, activity_stream(activity_id), activity, activity_id)


async def verify_activity(activity_id: str, cmd: c.VerifyActivity, ctx: Context,
                          app: Agenda) -> Result:
    activity = await _activity(app, activity_id, cmd.expected_version)
    activity.verify(ctx.actor, cmd.note)
    return await save(app.store, ctx, activity_stream(activity_id), activity, activity_id)


async def report_held(activity_id: str, cmd: c.ReportHeld, ctx: Context, app: Agenda) -> Result:
    activity = await _activity(app, activity_id, cmd.expected_version)
    activity.report_held([str(u) for u in cmd.documentation_links], cmd.note, ctx.now)
    return await save(app.store, ctx, activity_stream(activity_id), activity, activity_id)


# -- prognoses -----------------------------------------------------------------------

async def submit_prognosis(cmd: c.SubmitPrognosis, ctx: Context, app: Agenda) -> Result:
    unit = await load(app.store, Unit, unit_stream(cmd.unit_code))
    stream = prognosis_stream(cmd.unit_code, cmd.year)
    prognosis = await load(app.store, Prognosis, stream)
    _check_expected(prognosis, cmd.expected_version)
    prognosis.submit(unit, cmd.year, list(cmd.items))
    return await save(app.store, ctx, stream, prognosis, f"{cmd.unit_code}-{cmd.year}", 201)


HANDLERS = {
    c.RegisterUnit: register_unit,
    c.UpdateUnit: update_unit,
    c.DeactivateUnit: deactivate_unit,
    c.PlanActivity: plan_activity,
    c.ReviseActivity: revise_activity,
    c.RescheduleActivity: reschedule_activity,
    c.CancelActivity: cancel_activity,
    c.VerifyActivity: verify_activity,
    c.ReportHeld: report_held,
    c.SubmitPrognosis: submit_prognosis,
}
