"""The agenda's HTTP API: parse, call a handler, map errors (shared.api)."""


import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from shared import api as common
from shared.contracts.envelope import to_cloudevent
from shared.contracts.types import WIB, Moment

from . import commands as c
from . import handlers as h
from .bootstrap import Service
from .calendar import render_calendar

router = APIRouter(prefix="/v1", responses=common.PROBLEM_RESPONSES)
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key")]
ActivityId = Annotated[str, Path(pattern=r"^[0-9a-fA-F-]{36}$")]
UnitCode = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_\-]{0,63}$")]


def current_actor(request: Request) -> str:
    """The one place the actor comes from. Until authentication exists, the caller
    names itself in X-Actor; an identity provider's subject replaces this."""
    actor = request.headers.get("x-actor", "anonymous").strip()
    return actor[:100] if actor.isprintable() and actor else "anonymous"


def _context(request: Request, key: str | None, digest: str | None) -> h.Context:
    return h.Context(actor=current_actor(request),
                     correlation_id=request.state.correlation_id,
                     causation_id=request.state.request_id,
                     idempotency_key=key, request_hash=digest)


def _service(request: Request) -> Service:
    return request.app.state.service


async def _run(request: Request, key: str | None, status: int, call) -> JSONResponse:
    svc = _service(request)

    async def run(scoped: str | None, digest: str | None) -> tuple[int, dict[str, Any]]:
        result = await call(_context(request, scoped, digest), svc.agenda)
        return status, result.as_dict()

    return await common.idempotent(request, svc.store, key, current_actor(request), run)


# -- units -----------------------------------------------------------------------------

@router.post("/units", status_code=201, tags=["units"])
async def register_unit(body: c.RegisterUnit, request: Request, key: IdemKey = None):
    return await _run(request, key, 201, lambda ctx, app: h.register_unit(body, ctx, app))


@router.post("/units/{code}/update", tags=["units"])
async def update_unit(code: UnitCode, body: c.UpdateUnit, request: Request, key: IdemKey = None):
    return await _run(request, key, 200, lambda ctx, app: h.update_unit(code, body, ctx, app))


@router.post("/units/{code}/deactivate", tags=["units"])
async def deactivate_unit(code: UnitCode, body: c.DeactivateUnit, request: Request,
                          key: IdemKey = None):
    return await _run(request, key, 200,
                      lambda ctx, app: h.deactivate_unit(code, body, ctx, app))


@router.get("/units", tags=["units"])
async def list_units(request: Request, active_on: date | None = None,
                     kind: Annotated[str | None, Query(max_length=64)] = None):
    sql = "SELECT * FROM units_view WHERE ($1::date IS NULL OR (active_from <= $1 AND " \
          "(active_until IS NULL OR active_until >= $1))) AND ($2::text IS NULL OR kind = $2) " \
          "ORDER BY code"
    rows = await _service(request).pool.fetch(sql, active_on, kind)
    return {"units": [_jsonable(r) for r in rows]}


@router.get("/units/{code}", tags=["units"])
async def get_unit(code: UnitCode, request: Request):
    row = await _service(request).pool.fetchrow("SELECT * FROM units_view WHERE code = $1", code)
    if row is None:
        return common.problem(404, "Not found", f"unit {code} is not registered", "not-found")
    return _jsonable(row)


# -- activities ------------------------------------------------------------------------

@router.post("/activities", status_code=201, tags=["activities"])
async def plan_activity(body: c.PlanActivity, request: Request, key: IdemKey = None):
    # The id is fixed before the handler runs, so a retried request's response is the same.
    activity_id = str(uuid.uuid4())
    return await _run(request, key, 201, lambda ctx, app: h.plan_activity(
        body, ctx, app, activity_id=activity_id))


def _activity_command(verb: str, model: type[c.Command], handler):
    async def endpoint(activity_id: ActivityId, request: Request, key: IdemKey = None,
                       body: model = ...):  # type: ignore[valid-type]
        return await _run(request, key, 200,
                          lambda ctx, app: handler(activity_id.lower(), body, ctx, app))
    endpoint.__name__ = f"{verb}_activity"
    router.add_api_route(f"/activities/{{activity_id}}/{verb}", endpoint, methods=["POST"],
                         tags=["activities"], name=f"{verb}_activity")


_activity_command("revise", c.ReviseActivity, h.revise_activity)
_activity_command("reschedule", c.RescheduleActivity, h.reschedule_activity)
_activity_command("cancel", c.CancelActivity, h.cancel_activity)
_activity_command("verify", c.VerifyActivity, h.verify_activity)
_activity_command("report", c.ReportHeld, h.report_held)


Status = Literal["planned", "verified", "held", "cancelled"]





@router.get("/activities", tags=["activities"])
async def list_activities(
    request: Request,
    unit: Annotated[str | None, Query(max_length=64)] = None,
    start_from: Annotated[Moment | None, Query(alias="from")] = None,
    start_to: Annotated[Moment | None, Query(alias="to")] = None,
    status: Status | None = None,
    leader: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
):
    rows = await _service(request).pool.fetch(
        "SELECT * FROM activities_view WHERE ($1::text IS NULL OR unit_code = $1)"
        " AND ($2::timestamptz IS NULL OR starts_at >= $2)"
        " AND ($3::timestamptz IS NULL OR starts_at <= $3)"
        " AND ($4::text IS NULL OR status = $4)"
        " AND ($5::text IS NULL OR $5 = ANY(leaders))"
        " ORDER BY starts_at, activity_id LIMIT $6 OFFSET $7",
        unit, common.day_bound(start_from, False), common.day_bound(start_to, True), status,
        leader, limit, offset)
    return {"activities": [_activity_json(r) for r in rows], "limit": limit, "offset": offset}


@router.get("/activities/{activity_id}", tags=["activities"])
async def get_activity(activity_id: ActivityId, request: Request):
    svc = _service(request)
    row = await svc.pool.fetchrow("SELECT * FROM activities_view WHERE activity_id = $1",
                                  activity_id.lower())
    if row is None:
        return common.problem(404, "Not found", f"activity {activity_id} does not exist",
                              "not-found")
    body = _activity_json(row)
    if row["contact_id"]:
        person = await svc.pool.fetchrow(
            "SELECT name, phone, email FROM people WHERE id = $1 AND erased_at IS NULL",
            row["contact_id"])
        body["contact"] = dict(person) if person else None
    return body


@router.get("/activities/{activity_id}/history", tags=["activities"])
async def activity_history(activity_id: ActivityId, request: Request):
    svc = _service(request)
    events = await svc.store.read_stream(f"activity-{activity_id.lower()}")
    if not events:
        return common.problem(404, "Not found", f"activity {activity_id} does not exist",
                              "not-found")
    epoch = await svc.store.epoch()
    return {"events": [to_cloudevent(e, "agenda", epoch) | {"actor": e.metadata.get("actor")}
                       for e in events]}


# -- prognoses -------------------------------------------------------------------------

@router.post("/prognoses", status_code=201, tags=["prognoses"])
async def submit_prognosis(body: c.SubmitPrognosis, request: Request, key: IdemKey = None):
    return await _run(request, key, 201, lambda ctx, app: h.submit_prognosis(body, ctx, app))


@router.get("/prognoses", tags=["prognoses"])
async def list_prognoses(request: Request,
                         unit: Annotated[str | None, Query(max_length=64)] = None,
                         year: Annotated[int | None, Query(ge=2000, le=2100)] = None):
    rows = await _service(request).pool.fetch(
        "SELECT * FROM prognoses_view WHERE ($1::text IS NULL OR unit_code = $1)"
        " AND ($2::int IS NULL OR year = $2) ORDER BY year, unit_code", unit, year)
    return {"prognoses": [_jsonable(r) for r in rows]}


# -- history feed and calendar -----------------------------------------------------------

@router.get("/events", tags=["feed"])
async def history_feed(request: Request, after: common.Position = 0,
                       limit: Annotated[int, Query(ge=1, le=10000)] = 1000):
    """The stored events in position order, as the relay publishes them (DESIGN §6)."""
    return await common.history_page(_service(request).store, "agenda", after, limit)


@router.get("/calendar.ics", tags=["calendar"], response_class=Response)
async def calendar(request: Request, unit: Annotated[str | None, Query(max_length=64)] = None,
                   leader: Annotated[str | None, Query(max_length=32)] = None):
    rows = await _service(request).pool.fetch(
        "SELECT * FROM activities_view WHERE visibility = 'public'"
        " AND ($1::text IS NULL OR unit_code = $1) AND ($2::text IS NULL OR $2 = ANY(leaders))"
        " ORDER BY starts_at, activity_id", unit, leader)
    return Response(render_calendar(rows), media_type="text/calendar; charset=utf-8")


def _jsonable(row) -> dict[str, Any]:
    out = {}
    for key, value in dict(row).items():
        if isinstance(value, datetime):
            value = value.astimezone(WIB)
        out[key] = value.isoformat() if isinstance(value, (date, datetime)) else value
    return out


def _activity_json(row) -> dict[str, Any]:
    body = _jsonable(row)
    for key in ("starts_at", "ends_at", "recorded_at", "updated_at"):
        body[key] = row[key].astimezone(WIB).isoformat()
    body["id"] = body["activity_id"]
    return body


def create_app(service: Service) -> FastAPI:
    app = FastAPI(title="SI-MALIK agenda", version="1.0",
                  description="Units, activities and yearly prognoses of the city's units. "
                              "Datetimes without an offset are taken as WIB (Asia/Jakarta).")
    app.state.service = service
    app.state.pool = service.pool
    common.install(app, "agenda")
    app.include_router(router)
    return app
