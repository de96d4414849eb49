"""Scoring's HTTP API: compliance as JSON and CSV, the evidence behind a unit's
row, and the staff dashboard (dashboard.py). Decimals travel as strings
("73.12"), so no client turns them into binary floats."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from shared import api as common

from . import generations, reports
from .bootstrap import Service
from .domain import WIB, Report, UnitRow, parse_period, to_csv

router = APIRouter(prefix="/v1", responses=common.PROBLEM_RESPONSES)
PeriodQ = Annotated[str, Query(description="YYYY-MM, YYYY-Qn or YYYY", max_length=7)]
AsOfQ = Annotated[str | None, Query(
    description="ISO datetime (WIB without an offset) or date (end of that day, WIB): "
                "the report as recorded by then", max_length=40)]
UnitCode = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_\-]{0,63}$")]


class BadQuery(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


async def load(request: Request, period: str, as_of: str | None
               ) -> tuple[reports.Snapshot, Report]:
    """The snapshot and report a request asks for; BadQuery names the field at fault."""
    try:
        moment = reports.parse_as_of(as_of)
    except ValueError as exc:
        raise BadQuery("as_of", f"not an ISO date or datetime: {exc}") from exc
    try:
        per = parse_period(period)
    except ValueError as exc:
        raise BadQuery("period", str(exc)) from exc
    snap = await reports.snapshot(request.app.state.service.pool, per, moment)
    return snap, snap.report()


def _bad(exc: BadQuery) -> JSONResponse:
    return common.problem(422, "Invalid request", f"{exc.field}: {exc}", "validation",
                          [{"field": exc.field, "message": str(exc)}])


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(WIB).isoformat()


def row_json(row: UnitRow) -> dict[str, Any]:
    c = row.components
    return {
        "rank": row.rank, "unit_code": row.unit_code, "unit_name": row.unit_name,
        "unit_kind": row.unit_kind, "score": _dec(row.score), "tier": row.tier,
        "components": {name: _dec(getattr(c, name)) for name in
                       ("input", "timeliness", "realisation", "prognosis", "publication")},
        "counts": asdict(row.counts),
        "prognosis_status": row.prognosis_status,
    }


def report_json(snap: reports.Snapshot, report: Report) -> dict[str, Any]:
    return {
        "period": report.period, "policy_version": report.policy_version,
        "generation": snap.generation.generation, "as_of": _time(report.as_of),
        "now": _time(report.now), "units_active": report.units_active,
        "units_with_input": report.units_with_input, "input_rate": _dec(report.input_rate),
        "holiday_fallback_years": list(report.holiday_fallback_years),
        "units": [row_json(row) for row in report.rows],
    }


@router.get("/compliance", tags=["compliance"])
async def compliance(request: Request, period: PeriodQ, as_of: AsOfQ = None):
    try:
        snap, report = await load(request, period, as_of)
    except BadQuery as exc:
        return _bad(exc)
    return report_json(snap, report)


@router.get("/compliance.csv", tags=["compliance"], response_class=Response)
async def compliance_csv(request: Request, period: PeriodQ, as_of: AsOfQ = None):
    try:
        _, report = await load(request, period, as_of)
    except BadQuery as exc:
        return _bad(exc)
    name = f"kepatuhan-{report.period}-{report.policy_version}.csv"
    return Response(to_csv(report).encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/compliance/{unit}/evidence", tags=["compliance"])
async def evidence(request: Request, unit: UnitCode, period: PeriodQ, as_of: AsOfQ = None):
    try:
        snap, report = await load(request, period, as_of)
    except BadQuery as exc:
        return _bad(exc)
    row = next((r for r in report.rows if r.unit_code == unit), None)
    detail = reports.unit_detail(snap, unit)
    if row is None or detail is None:
        return common.problem(404, "Not found", f"unit {unit} is not active in {report.period}"
                              " (as recorded by then)", "not-found")
    forecast = detail.prognosis
    return {
        **row_json(row), "period": report.period, "policy_version": report.policy_version,
        "as_of": _time(report.as_of), "now": _time(report.now),
        "event_ids": list(row.evidence),
        "unit_event_ids": list(detail.unit.event_ids),
        "activities": [{
            "activity_id": line.activity.record.activity_id, "title": line.activity.title,
            "in_period": line.in_period, "starts_at": _time(line.activity.record.starts_at),
            "recorded_at": _time(line.activity.record.recorded_at),
            "status": line.activity.record.status,
            "reported_at": _time(line.activity.record.reported_at),
            "visibility": line.activity.record.visibility,
            "prognosis_item_id": line.activity.record.prognosis_item_id,
            "working_days_ahead": line.working_days_ahead, "timely": line.timely,
            "reported_in_time": line.reported_in_time,
            "published_tasks": line.activity.publications,
            "event_ids": list(line.activity.record.event_ids),
        } for line in detail.activities],
        "prognosis": None if forecast is None else {
            "year": forecast.year, "submitted_at": _time(forecast.submitted_at),
            "item_ids": list(forecast.item_ids), "event_ids": list(forecast.event_ids)},
    }


@router.get("/projection", tags=["operations"])
async def projection(request: Request):
    """The current generation, its cut-offs, and a rebuild in progress, if any."""
    pool = request.app.state.service.pool
    gen = await generations.current(pool)
    shadow = await generations.building(pool)

    def positions(found: dict[str, generations.Position]) -> dict[str, Any]:
        return {s: {"epoch": p.epoch, "position": p.position} for s, p in found.items()}

    return {
        "generation": gen.generation, "policy_version": gen.policy_version,
        "cutoffs": positions(await generations.positions(pool, gen.generation)),
        "rebuild": None if shadow is None else {
            "generation": shadow.generation, "policy_version": shadow.policy_version,
            "checkpoints": positions(await generations.positions(pool, shadow.generation))},
    }


def create_app(service: Service) -> FastAPI:
    from .dashboard import router as dashboard_router

    app = FastAPI(title="SI-MALIK scoring", version="1.0",
                  description="Per-unit compliance of the city's units (DESIGN §8), "
                              "as of any recorded moment.")
    app.state.service = service
    app.state.pool = service.pool
    common.install(app, "scoring")
    app.include_router(router)
    app.include_router(dashboard_router)
    return app
