"""Handlers: the editors' commands on a task, and the newsroom's reactions to the
agenda's activity events. Both lists are at the bottom of this module; together
they are the whole behaviour of the service.

A command handler loads the task, lets it decide and appends what it recorded
(group commit). A reaction runs inside the consumer's inbox transaction and
appends there too, so the tasks change atomically with the inbox entry."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from shared.aggregate import InvalidState, NotFound
from shared.consumer import PermanentError
from shared.context import Context
from shared.contracts.agenda import (
    AGENDA_EVENTS,
    ActivityCancelled,
    ActivityHeld,
    ActivityPlanned,
    ActivityRescheduled,
    ActivityRevised,
    ActivityVerified,
)
from shared.contracts.base import Event
from shared.contracts.envelope import CloudEvent
from shared.contracts.newsroom import NEWSROOM_EVENTS
from shared.eventstore import AppendCommand, AppendResult, EventStore, Idempotency, NewEvent

from . import commands as c
from .domain import ActivityFacts, Task, task_stream
from .projections import load_activity, project, save_activity
from .rules import NeutralityTerms, PublicationRules

# Who appears as the actor of what the rules did on their own.
RULES_ACTOR = "newsroom-rules"
EVENT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://simalik.kedirikota.go.id/newsroom/event")
REASON_MAX = 300


@dataclass(frozen=True)
class Result:
    id: str
    version: int
    status: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "status": self.status}


@dataclass
class Newsroom:
    store: EventStore
    pool: asyncpg.Pool
    rules: PublicationRules
    neutrality: NeutralityTerms


def _fold(events: Iterable[tuple[str, int, dict[str, Any]]]) -> Task:
    return Task.replay(NEWSROOM_EVENTS.load(*e) for e in events)


async def load_task(store: EventStore, task_id: str) -> Task:
    return _fold((e.type, e.schema_version, e.data)
                 for e in await store.read_stream(task_stream(task_id)))


async def save(store: EventStore, ctx: Context, task: Task) -> Result:
    result = Result(task.task_id, task.version + len(task.pending), task.status)
    if not task.pending:
        return result
    idempotency = None
    if ctx.idempotency_key:
        idempotency = Idempotency(ctx.idempotency_key, ctx.request_hash or "", 200,
                                  result.as_dict())
    meta = ctx.metadata()
    await store.append(task_stream(task.task_id), task.version,
                       [NewEvent.of(e, meta) for e in task.pending], idempotency)
    return result


async def _task(app: Newsroom, task_id: str, expected: int) -> Task:
    task = await load_task(app.store, task_id)
    if not task.exists:
        raise NotFound(f"task {task_id} does not exist", "task_id")
    if expected != task.version:
        raise InvalidState(
            f"stale expected_version {expected}: the current version is {task.version}",
            "expected_version")
    return task


# -- the editors' commands -------------------------------------------------------------

async def assign_task(task_id: str, cmd: c.AssignTask, ctx: Context, app: Newsroom) -> Result:
    task = await _task(app, task_id, cmd.expected_version)
    task.assign(cmd.assignee_id)
    return await save(app.store, ctx, task)


async def submit_task(task_id: str, cmd: c.SubmitTask, ctx: Context, app: Newsroom) -> Result:
    task = await _task(app, task_id, cmd.expected_version)
    task.submit(cmd.draft_text, None if cmd.draft_url is None else str(cmd.draft_url))
    return await save(app.store, ctx, task)


async def approve_task(task_id: str, cmd: c.ApproveTask, ctx: Context, app: Newsroom) -> Result:
    task = await _task(app, task_id, cmd.expected_version)
    activity = await load_activity(app.pool, task.activity_id)
    task.approve(ctx.actor, activity, app.neutrality, cmd.override_reason)
    return await save(app.store, ctx, task)


async def reject_task(task_id: str, cmd: c.RejectTask, ctx: Context, app: Newsroom) -> Result:
    task = await _task(app, task_id, cmd.expected_version)
    task.reject(ctx.actor, cmd.reason)
    return await save(app.store, ctx, task)


async def publish_task(task_id: str, cmd: c.PublishTask, ctx: Context, app: Newsroom) -> Result:
    task = await _task(app, task_id, cmd.expected_version)
    task.publish(str(cmd.url), cmd.published_at or ctx.now)
    return await save(app.store, ctx, task)


async def cancel_task(task_id: str, cmd: c.CancelTask, ctx: Context, app: Newsroom) -> Result:
    task = await _task(app, task_id, cmd.expected_version)
    task.cancel(cmd.reason)
    return await save(app.store, ctx, task)


# -- following the agenda ----------------------------------------------------------------
# Each reaction gets the activity as it is after the event, the activity's tasks
# (by id; it may add new ones) and the rules, and records on the tasks. The words
# it writes (reasons) are shown to staff, so they are in Bahasa Indonesia.

Tasks = dict[str, Task]


def _open(tasks: Tasks) -> list[Task]:
    return [t for t in tasks.values() if t.is_open]


def _create_missing(activity: ActivityFacts, tasks: Tasks, planned_tasks) -> None:
    for planned in planned_tasks:
        if planned.task_id not in tasks:
            task = Task()
            task.create(planned, activity)
            tasks[planned.task_id] = task


def on_planned(event: ActivityPlanned, activity: ActivityFacts, tasks: Tasks,
               rules: PublicationRules, at: datetime) -> None:
    _create_missing(activity, tasks, rules.plan(activity))


def on_rescheduled(event: ActivityRescheduled, activity: ActivityFacts, tasks: Tasks,
                   rules: PublicationRules, at: datetime) -> None:
    for task in _open(tasks):
        rule = rules.rule(task.rule_id)
        if rule is not None:  # corrections and retired rules keep their due time
            task.reschedule(rules.due_at(rule, activity))


def on_revised(event: ActivityRevised, activity: ActivityFacts, tasks: Tasks,
               rules: PublicationRules, at: datetime) -> None:
    # The plan follows the activity: a revision can make rules match (walikota now
    # attends) or stop matching (it became internal).
    wanted = {p.task_id: p for p in rules.plan(activity)}
    for task in _open(tasks):
        if task.kind == "correction":
            continue
        planned = wanted.get(task.task_id)
        if planned is not None:
            task.revise(planned.title, planned.brief)
        elif rules.rule(task.rule_id) is not None:
            task.cancel(f"Aturan {task.rule_id} tidak berlaku lagi setelah kegiatan diubah")
        else:
            task.revise(rules.title(task.kind, task.channel, activity),
                        rules.brief(task.kind, activity))
    _create_missing(activity, tasks, wanted.values())


def on_cancelled(event: ActivityCancelled, activity: ActivityFacts, tasks: Tasks,
                 rules: PublicationRules, at: datetime) -> None:
    reason = f"Kegiatan dibatalkan: {event.reason}"[:REASON_MAX]
    for task in _open(tasks):
        task.cancel(reason)
    # Something already out about the event: announce the cancellation where it
    # was published (one correction per channel).
    published = sorted({t.channel for t in tasks.values() if t.status == "published"})
    _create_missing(activity, tasks,
                    [rules.correction_task(activity, channel, at) for channel in published])


def on_record_only(event: Event, activity: ActivityFacts, tasks: Tasks,
                   rules: PublicationRules, at: datetime) -> None:
    """Verified and held change the activity record (approval needs verified);
    the tasks stay as they are."""


Reaction = Callable[[Any, ActivityFacts, Tasks, PublicationRules, datetime], None]


async def follow_agenda(app: Newsroom, conn: asyncpg.Connection, ce: CloudEvent) -> None:
    """The consumer's `apply`: runs inside the inbox transaction, in stream order."""
    event = AGENDA_EVENTS.load(ce.routing_key, ce.schema_version, ce.data)
    react = REACTIONS.get(type(event))
    if react is None:
        return  # unit.* and prognosis.*: nothing for the newsroom
    before = await load_activity(conn, event.activity_id)
    if isinstance(event, ActivityPlanned):
        activity = ActivityFacts.planned(event, ce.stream_version)
    elif before is None:
        raise PermanentError(f"{ce.type} for activity {event.activity_id}, which the newsroom "
                             "never saw planned")
    else:
        activity = before.evolve(event, ce.stream_version)
    await save_activity(conn, activity, ce.time)
    tasks = await _activity_tasks(conn, activity.activity_id)
    react(event, activity, tasks, app.rules, ce.time)
    await _append_in(app.store, conn, ce, tasks.values())


async def _activity_tasks(conn: asyncpg.Connection, activity_id: str) -> Tasks:
    rows = await conn.fetch(
        "SELECT e.stream_id, e.type, e.schema_version, e.data FROM events e"
        " JOIN tasks_view t ON e.stream_id = 'task-' || t.task_id"
        " WHERE t.activity_id = $1 ORDER BY e.stream_id, e.version", activity_id)
    streams: dict[str, list[tuple[str, int, dict[str, Any]]]] = {}
    for row in rows:
        streams.setdefault(row["stream_id"], []).append(
            (row["type"], row["schema_version"], row["data"]))
    tasks = (_fold(events) for events in streams.values())
    return {t.task_id: t for t in tasks}


async def _append_in(store: EventStore, conn: asyncpg.Connection, ce: CloudEvent,
                     tasks: Iterable[Task]) -> None:
    meta = {"actor": RULES_ACTOR, "correlation_id": ce.correlationid or ce.id,
            "causation_id": ce.id}
    # Event ids derive from the cause, so applying the same agenda event twice (a
    # rebuilt inbox, say) appends nothing new.
    commands = [
        AppendCommand(task_stream(t.task_id), t.version, [
            NewEvent.of(e, meta, event_id=uuid.uuid5(EVENT_NAMESPACE, f"{ce.id}/{t.task_id}/{i}"))
            for i, e in enumerate(t.pending)])
        for t in tasks if t.pending]
    if not commands:
        return
    outcomes = await store.append_in(conn, commands)
    for outcome in outcomes:
        if isinstance(outcome, Exception):
            # A task changed under us (an editor's command committed first): the
            # whole inbox transaction rolls back and the message is retried.
            raise outcome
    await project(conn, [e for o in outcomes if isinstance(o, AppendResult) for e in o.events])


HANDLERS = {
    c.AssignTask: assign_task,
    c.SubmitTask: submit_task,
    c.ApproveTask: approve_task,
    c.RejectTask: reject_task,
    c.PublishTask: publish_task,
    c.CancelTask: cancel_task,
}

REACTIONS: dict[type[Event], Reaction] = {
    ActivityPlanned: on_planned,
    ActivityRescheduled: on_rescheduled,
    ActivityRevised: on_revised,
    ActivityCancelled: on_cancelled,
    ActivityVerified: on_record_only,
    ActivityHeld: on_record_only,
}
