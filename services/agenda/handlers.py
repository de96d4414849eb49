"""Command handlers: load the aggregate, let it decide, append what it recorded.

Every handler takes the command, a `Context` (who asks, tracing ids, idempotency)
and the `Agenda` dependencies; the mapping at the bottom lists the whole
behaviour of the service."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg

from shared.aggregate import Aggregate, DomainError, InvalidState
from shared.context import Context
from shared.contracts.agenda import AGENDA_EVENTS
from shared.eventstore import EventStore, Idempotency, NewEvent

from . import commands as c
from .domain import Activity, Prognosis, Unit, activity_stream, prognosis_stream, unit_stream


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


async def save(app: Agenda, ctx: Context, stream_id: str, aggregate: Aggregate,
               result_id: str, status: int = 200,
               people: list[NewPerson | None] | None = None) -> Result:
    """Appends what the aggregate recorded. Contact details are stored only now,
    after the rules accepted the command, and removed again if the append fails."""
    new_version = aggregate.version + len(aggregate.pending)
    result = Result(result_id, new_version)
    if not aggregate.pending:
        return result
    idempotency = None
    if ctx.idempotency_key:
        idempotency = Idempotency(ctx.idempotency_key, ctx.request_hash or "", status,
                                  result.as_dict())
    accepted = [p for p in people or [] if p is not None]
    if accepted:
        await _store_people(app.pool, accepted)
    meta = ctx.metadata()
    try:
        await app.store.append(stream_id, aggregate.version,
                               [NewEvent.of(e, meta) for e in aggregate.pending], idempotency)
    except BaseException:
        if accepted:
            await app.pool.execute("DELETE FROM people WHERE id = ANY($1)",
                                   [p.id for p in accepted])
        raise
    return result


def _check_expected(aggregate: Aggregate, expected: int | None) -> None:
    if expected is not None and expected != aggregate.version:
        raise InvalidState(
            f"stale expected_version {expected}: the current version is {aggregate.version}",
            "expected_version")


@dataclass(frozen=True)
class NewPerson:
    """Contact details to keep in `people` once the command is accepted."""

    id: str
    person: c.Person
    role: str
    unit_code: str | None


def _person(person: c.Person | None, role: str, unit_code: str | None) -> NewPerson | None:
    return None if person is None else NewPerson(str(uuid.uuid4()), person, role, unit_code)


def _id(new: NewPerson | None) -> str | None:
    return new.id if new else None


async def _store_people(pool: asyncpg.Pool, people: list[NewPerson]) -> None:
    await pool.executemany(
        "INSERT INTO people (id, name, phone, email, role, unit_code) VALUES ($1,$2,$3,$4,$5,$6)",
        [(p.id, p.person.name, p.person.phone, p.person.email, p.role, p.unit_code)
         for p in people])


# -- units ---------------------------------------------------------------------------

async def _check_parent(app: Agenda, parent_code: str | None) -> None:
    if parent_code and not (await load(app.store, Unit, unit_stream(parent_code))).exists:
        raise DomainError(f"unit {parent_code} is not registered", "parent_code")


async def register_unit(cmd: c.RegisterUnit, ctx: Context, app: Agenda) -> Result:
    unit = await load(app.store, Unit, unit_stream(cmd.code))
    if unit.exists:
        raise InvalidState(f"unit {cmd.code} is already registered", "code")
    await _check_parent(app, cmd.parent_code)
    fields = cmd.model_dump(exclude={"code", "pic", "verifikator"})
    pic = _person(cmd.pic, "pic", cmd.code)
    verifikator = _person(cmd.verifikator, "verifikator", cmd.code)
    unit.register(unit_code=cmd.code, **fields, pic_id=_id(pic), verifikator_id=_id(verifikator))
    return await save(app, ctx, unit_stream(cmd.code), unit, cmd.code, 201, [pic, verifikator])


async def update_unit(code: str, cmd: c.UpdateUnit, ctx: Context, app: Agenda) -> Result:
    unit = await load(app.store, Unit, unit_stream(code))
    _check_expected(unit, cmd.expected_version)
    await _check_parent(app, cmd.parent_code)
    fields = cmd.model_dump(exclude={"expected_version", "pic", "verifikator"}, exclude_none=True)
    pic = _person(cmd.pic, "pic", code)
    verifikator = _person(cmd.verifikator, "verifikator", code)
    unit.update(**fields, pic_id=_id(pic), verifikator_id=_id(verifikator))
    return await save(app, ctx, unit_stream(code), unit, code, people=[pic, verifikator])


async def deactivate_unit(code: str, cmd: c.DeactivateUnit, ctx: Context, app: Agenda) -> Result:
    unit = await load(app.store, Unit, unit_stream(code))
    _check_expected(unit, cmd.expected_version)
    unit.deactivate(cmd.active_until, cmd.reason)
    return await save(app, ctx, unit_stream(code), unit, code)


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
    contact = _person(cmd.contact, "contact", cmd.unit_code)
    activity.plan(unit, activity_id=activity_id, origin=origin, import_ref=import_ref,
                  contact_id=_id(contact), **fields)
    return await save(app, ctx, activity_stream(activity_id), activity, activity_id, 201,
                      [contact])


async def _activity(app: Agenda, activity_id: str, expected: int) -> Activity:
    activity = await load(app.store, Activity, activity_stream(activity_id))
    if activity.exists:
        _check_expected(activity, expected)
    return activity


async def revise_activity(activity_id: str, cmd: c.ReviseActivity, ctx: Context,
                          app: Agenda) -> Result:
    activity = await _activity(app, activity_id, cmd.expected_version)
    changes = cmd.model_dump(exclude={"expected_version", "contact"}, exclude_none=True)
    contact = _person(cmd.contact, "contact", activity.unit_code)
    activity.revise(**changes, contact_id=_id(contact))
    return await save(app, ctx, activity_stream(activity_id), activity, activity_id,
                      people=[contact])


async def reschedule_activity(activity_id: str, cmd: c.RescheduleActivity, ctx: Context,
                              app: Agenda) -> Result:
    activity = await _activity(app, activity_id, cmd.expected_version)
    activity.reschedule(cmd.starts_at, cmd.ends_at, cmd.reason)
    return await save(app, ctx, activity_stream(activity_id), activity, activity_id)


async def cancel_activity(activity_id: str, cmd: c.CancelActivity, ctx: Context,
                          app: Agenda) -> Result:
    activity = await _activity(app, activity_id, cmd.expected_version)
    activity.cancel(cmd.reason)
    return await save(app, ctx, activity_stream(activity_id), activity, activity_id)


async def verify_activity(activity_id: str, cmd: c.VerifyActivity, ctx: Context,
                          app: Agenda) -> Result:
    activity = await _activity(app, activity_id, cmd.expected_version)
    activity.verify(ctx.actor, cmd.note)
    return await save(app, ctx, activity_stream(activity_id), activity, activity_id)


async def report_held(activity_id: str, cmd: c.ReportHeld, ctx: Context, app: Agenda) -> Result:
    activity = await _activity(app, activity_id, cmd.expected_version)
    activity.report_held([str(u) for u in cmd.documentation_links], cmd.note, ctx.now)
    return await save(app, ctx, activity_stream(activity_id), activity, activity_id)


# -- prognoses -----------------------------------------------------------------------

async def submit_prognosis(cmd: c.SubmitPrognosis, ctx: Context, app: Agenda) -> Result:
    unit = await load(app.store, Unit, unit_stream(cmd.unit_code))
    stream = prognosis_stream(cmd.unit_code, cmd.year)
    prognosis = await load(app.store, Prognosis, stream)
    _check_expected(prognosis, cmd.expected_version)
    prognosis.submit(unit, cmd.year, list(cmd.items))
    return await save(app, ctx, stream, prognosis, f"{cmd.unit_code}-{cmd.year}", 201)


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
