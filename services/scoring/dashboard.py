"""The staff dashboard, server-rendered, in Bahasa Indonesia: the ranking of a
period and a page per unit with the activities behind its numbers. Times in WIB."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from . import reports
from .api import AsOfQ, BadQuery, UnitCode, load
from .domain import WIB

router = APIRouter(include_in_schema=False)

MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
          "September", "Oktober", "November", "Desember")
QUARTERS = ("I", "II", "III", "IV")
TIERS = {"apresiasi": "Apresiasi", "normal": "Normal", "peringatan": "Peringatan"}
STATUSES = {"planned": "Direncanakan", "verified": "Terverifikasi", "held": "Terlaksana",
            "cancelled": "Dibatalkan"}
PROGNOSIS = {"on_time": "Tepat waktu", "late": "Terlambat", "missing": "Belum diserahkan",
             "not_due": "Belum jatuh tempo"}
VISIBILITY = {"public": "Publik", "internal": "Internal"}
COMPONENTS = (("input", "Input agenda"), ("timeliness", "Ketepatan waktu input"),
              ("realisation", "Pelaporan realisasi"), ("prognosis", "Prognosis"),
              ("publication", "Cakupan publikasi"))


def persen(value: Decimal | None) -> str:
    """73.12 -> '73,12 %'; a component that does not apply -> an em dash."""
    if value is None:
        return "—"
    whole, _, cents = format(value, "f").partition(".")
    return f"{int(whole):,}".replace(",", ".") + ("," + cents if cents else "") + " %"


def waktu(value: datetime | None) -> str:
    if value is None:
        return "—"
    local = value.astimezone(WIB)
    return f"{local.day} {MONTHS[local.month - 1][:3]} {local.year} {local:%H.%M} WIB"


def tanggal(value: date | None) -> str:
    return "—" if value is None else f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def nama_periode(label: str) -> str:
    year, _, rest = label.partition("-")
    if not rest:
        return f"Tahun {year}"
    if rest.startswith("Q"):
        return f"Triwulan {QUARTERS[int(rest[1]) - 1]} {year}"
    return f"{MONTHS[int(rest) - 1]} {year}"


_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                   autoescape=select_autoescape(default=True), trim_blocks=True,
                   lstrip_blocks=True)
_env.filters.update(persen=persen, waktu=waktu, tanggal=tanggal, periode=nama_periode,
                    tingkat=lambda t: TIERS.get(t, t), status=lambda s: STATUSES.get(s, s),
                    prognosis=lambda s: PROGNOSIS.get(s, s),
                    visibilitas=lambda v: VISIBILITY.get(v, v))
_env.globals.update(COMPONENTS=COMPONENTS)


def _render(name: str, status: int = 200, **context: object) -> HTMLResponse:
    return HTMLResponse(_env.get_template(name).render(**context), status_code=status)


def this_month() -> str:
    return datetime.now(WIB).strftime("%Y-%m")


PeriodQ = Annotated[str | None, Query(max_length=32)]


@router.get("/", response_class=HTMLResponse)
async def ranking(request: Request, period: PeriodQ = None, as_of: AsOfQ = None):
    period = period or this_month()
    try:
        snap, report = await load(request, period, as_of)
    except BadQuery as exc:
        return _render("error.html", 422, message=_explain(exc), period=period, as_of=as_of)
    return _render("ranking.html", report=report, snap=snap, period=period,
                   as_of=as_of or "")


@router.get("/unit/{unit}", response_class=HTMLResponse)
async def unit_page(request: Request, unit: UnitCode, period: PeriodQ = None,
                    as_of: AsOfQ = None):
    period = period or this_month()
    try:
        snap, report = await load(request, period, as_of)
    except BadQuery as exc:
        return _render("error.html", 422, message=_explain(exc), period=period, as_of=as_of)
    row = next((r for r in report.rows if r.unit_code == unit), None)
    detail = reports.unit_detail(snap, unit)
    if row is None or detail is None:
        message = (f"Unit {unit} tidak aktif pada periode {nama_periode(report.period)} "
                   "menurut data yang tercatat.")
        return _render("error.html", 404, message=message, period=period, as_of=as_of)
    return _render("unit.html", report=report, snap=snap, row=row, detail=detail,
                   period=period, as_of=as_of or "")


def _explain(exc: BadQuery) -> str:
    if exc.field == "period":
        return "Periode harus berbentuk TTTT-BB (bulan), TTTT-Qn (triwulan) atau TTTT (tahun)."
    return "Waktu 'per tanggal' harus berupa tanggal (TTTT-BB-HH) atau tanggal dan jam ISO."
