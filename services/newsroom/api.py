"""The newsroom's HTTP API: parse, call a handler, map errors (shared.api).

No `from __future__ import annotations` here: FastAPI must see the request body
model of each generated command endpoint, which is a closure variable."""

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Header, Path, Query, Request

from shared import api as common
from shared.contracts.envelope import to_cloudevent
from shared.contracts.newsroom import Channel, TaskKind
from shared.contracts.types import WIB, Moment

from . import commands as c
from . import handlers as h
from .bootstrap import Service

router = APIRouter(prefix="/v1", responses=common.PROBLEM_RESPONSES)
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key")]
TaskId = Annotated[str, Path(pattern=r"^[0-9a-fA-F-]{36}$")]
Status = Literal["created", "assigned", "submitted", "approved", "rejected", "published",
                 "cancelled"]

_TASK_SQL = (
    "SELECT t.*, a.title AS activity_title, a.starts_at AS activity_starts_at,"
    " a.ends_at AS activity_ends_at, a.status AS activity_status,"
    " a.verified AS activity_verified, a.visibility AS activity_visibility"
    " FROM tasks_view t LEFT JOIN activities a USING (activity_id)")


def current_actor(request: Request) -> str:
    """The one place the actor comes from. Until authentication exists, the caller
    names itself in X-Actor; an identity provider's subject replaces this."""
    actor = request.headers.get("x-actor", "anonymous").strip()
    return actor[:100] if actor.isprintable() and actor else "anonymous"


def _service(request: Request) -> Service:
    return request.app.state.service


def _command(verb: str, model: type[c.Command], handler) -> None:
    async def endpoint(task_id: TaskId, request: Request, key: IdemKey = None,
                       body: model = ...):  # type: ignore[valid-type]
        svc = _service(request)

        async def run(scoped: str | None, digest: str | None) -> tuple[int, dict[str, Any]]:
            ctx = h.Context(actor=current_actor(request),
                            correlation_id=request.state.correlation_id,
                            causation_id=request.state.request_id,
                            idempotency_key=scoped, request_hash=digest)
            result = await handler(task_id.lower(), body, ctx, svc.newsroom)
            return 200, result.as_dict()

        return await common.idempotent(request, svc.store, key, current_actor(request), run)

    endpoint.__name__ = f"{verb}_task"
    router.add_api_route(f"/tasks/{{task_id}}/{verb}", endpoint, methods=["POST"],
                         tags=["tasks"], name=f"{verb}_task",
                         summary=f"{verb.capitalize()} a task")


_command("assign", c.AssignTask, h.assign_task)
_command("submit", c.SubmitTask, h.submit_task)
_command("approve", c.ApproveTask, h.approve_task)
_command("reject", c.RejectTask, h.reject_task)
_command("publish", c.PublishTask, h.publish_task)
_command("cancel", c.CancelTask, h.cancel_task)





@router.get("/tasks", tags=["tasks"])
async def list_tasks(
    request: Request,
    status: Status | None = None,
    channel: Channel | None = None,
    kind: TaskKind | None = None,
    unit: Annotated[str | None, Query(max_length=64)] = None,
    activity_id: Annotated[str | None, Query(pattern=r"^[0-9a-fA-F-]{36}$")] = None,
    assignee: Annotated[str | None, Query(max_length=100)] = None,
    due_from: Moment | None = None,
    due_to: Moment | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
):
    """Tasks by due time (then id, so pages are stable), with their activity."""
    rows = await _service(request).pool.fetch(
        f"{_TASK_SQL} WHERE ($1::text IS NULL OR t.status = $1)"
        " AND ($2::text IS NULL OR t.channel = $2) AND ($3::text IS NULL OR t.kind = $3)"
        " AND ($4::text IS NULL OR t.unit_code = $4)"
        " AND ($5::text IS NULL OR t.activity_id = $5)"
        " AND ($6::text IS NULL OR t.assignee_id = $6)"
        " AND ($7::timestamptz IS NULL OR t.due_at >= $7)"
        " AND ($8::timestamptz IS NULL OR t.due_at <= $8)"
        " ORDER BY t.due_at, t.task_id LIMIT $9 OFFSET $10",
        status, channel, kind, unit, activity_id and activity_id.lower(), assignee,
        common.day_bound(due_from, False), common.day_bound(due_to, True), limit, offset)
    return {"tasks": [_task_json(r) for r in rows], "limit": limit, "offset": offset}


@router.get("/tasks/{task_id}", tags=["tasks"])
async def get_task(task_id: TaskId, request: Request):
    svc = _service(request)
    row = await svc.pool.fetchrow(f"{_TASK_SQL} WHERE t.task_id = $1", task_id.lower())
    if row is None:
        return common.problem(404, "Not found", f"task {task_id} does not exist", "not-found")
    body = _task_json(row)
    # Shown before approval so the reviewer sees what the neutrality check will say.
    body["neutrality_hits"] = svc.newsroom.neutrality.hits(row["draft_text"] or "")
    return body


@router.get("/tasks/{task_id}/history", tags=["tasks"])
async def task_history(task_id: TaskId, request: Request):
    svc = _service(request)
    events = await svc.store.read_stream(f"task-{task_id.lower()}")
    if not events:
        return common.problem(404, "Not found", f"task {task_id} does not exist", "not-found")
    epoch = await svc.store.epoch()
    return {"events": [to_cloudevent(e, "newsroom", epoch) | {"actor": e.metadata.get("actor")}
                       for e in events]}


@router.get("/events", tags=["feed"])
async def history_feed(request: Request, after: common.Position = 0,
                       limit: Annotated[int, Query(ge=1, le=10000)] = 1000):
    """The stored events in position order, as the relay publishes them (DESIGN §6).
    The store commits in position order, so a page never skips a later-committing
    event."""
    return await common.history_page(_service(request).store, "newsroom", after, limit)


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(WIB).isoformat()
    return value


def _task_json(row) -> dict[str, Any]:
    body = {key: _iso(row[key]) for key in (
        "task_id", "activity_id", "unit_code", "kind", "channel", "rule_id", "public", "title",
        "brief", "due_at", "status", "assignee_id", "draft_text", "draft_url", "reviewer_id",
        "reject_reason", "neutrality_override", "published_url", "published_at",
        "cancel_reason", "version", "created_at", "updated_at")}
    body["id"] = body["task_id"]
    body["activity"] = None if row["activity_title"] is None else {
        "title": row["activity_title"], "starts_at": _iso(row["activity_starts_at"]),
        "ends_at": _iso(row["activity_ends_at"]), "status": row["activity_status"],
        "verified": row["activity_verified"], "visibility": row["activity_visibility"]}
    return body


def create_app(service: Service) -> FastAPI:
    app = FastAPI(title="SI-MALIK newsroom", version="1.0",
                  description="Publication tasks made from the agenda's activities, and their "
                              "editorial workflow. Times are shown in WIB (Asia/Jakarta); "
                              "datetimes without an offset are taken as WIB.")
    app.state.service = service
    app.state.pool = service.pool
    common.install(app, "newsroom")
    app.include_router(router)
    return app

