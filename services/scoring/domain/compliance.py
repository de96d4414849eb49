"""Per-unit compliance for one period (DESIGN.md §8), as pure functions.

Same records, policy, period, as_of and now give the same Report, to the
byte once exported: Decimal with half-up rounding under a fixed context,
rank ties broken by unit code, nothing read from a clock.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, localcontext

from .calendar import WIB, WorkingCalendar, require_aware, wib_date
from .period import Period, parse_period
from .policy import COMPONENTS, Policy, Tiers, Weights
from .records import REPORTED_STATUSES, ActivityRecord, PrognosisRecord, UnitRecord

TIER_APRESIASI = "apresiasi"
TIER_NORMAL = "normal"
TIER_PERINGATAN = "peringatan"

PROGNOSIS_ON_TIME = "on_time"
PROGNOSIS_LATE = "late"
PROGNOSIS_MISSING = "missing"
PROGNOSIS_NOT_DUE = "not_due"

_CENT = Decimal("0.01")
_HUNDRED = Decimal(100)
# Whatever precision or rounding the caller's thread has set, the
# intermediate arithmetic here is the same; final rounding is explicit.
_CONTEXT = Context(prec=28, rounding=ROUND_HALF_EVEN)


def _round(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def percent(part: int | Decimal, whole: int | Decimal) -> Decimal:
    """part / whole as a percentage, 2 decimals, half-up (68/93 -> 73.12)."""
    with localcontext(_CONTEXT):
        return _round(Decimal(part) * _HUNDRED / Decimal(whole))


@dataclass(frozen=True, slots=True)
class Components:
    """Percentages 0-100, 2 decimals; None where the component does not apply."""

    input: Decimal
    timeliness: Decimal | None
    realisation: Decimal | None
    prognosis: Decimal | None
    publication: Decimal | None


@dataclass(frozen=True, slots=True)
class Counts:
    """The numbers each component is computed from, so a reader can redo it."""

    activities: int  # starting in the period, recorded by as_of; cancelled included
    cancelled: int
    timely: int  # timeliness = timely / activities
    due: int  # started, and reported or past the reporting window
    reported: int  # realisation = reported / due
    public: int  # public, not cancelled, started or already published
    published: int  # publication = published / public
    prognosis_items: int
    realised_items: int  # items named by an activity of the year


@dataclass(frozen=True, slots=True)
class UnitRow:
    rank: int  # 1 = best; unique: ordered by (-score, unit_code)
    unit_code: str
    unit_name: str
    unit_kind: str
    score: Decimal
    tier: str  # apresiasi | normal | peringatan
    components: Components
    counts: Counts
    prognosis_status: str  # on_time | late | missing | not_due
    evidence: tuple[str, ...]  # sorted ids of the events behind this row


@dataclass(frozen=True, slots=True)
class Report:
    policy_version: str
    period: str
    as_of: datetime | None
    now: datetime  # the moment deciding what is past and what is due
    units_active: int
    units_with_input: int
    input_rate: Decimal | None  # None when no unit is active in the period
    rows: tuple[UnitRow, ...]  # in rank order
    holiday_fallback_years: tuple[int, ...]  # years whose days off came from the library


def compute_report(
    policy: Policy,
    period: str | Period,
    units: Iterable[UnitRecord],
    activities: Iterable[ActivityRecord],
    prognoses: Iterable[PrognosisRecord],
    as_of: datetime | None = None,
    now: datetime | None = None,
) -> Report:
    """Score every unit active in `period`.

    as_of keeps only activities recorded, reports made and prognoses
    submitted by then. `now` (default as_of; without either, the last moment
    in the records) decides which activities have started and which
    deadlines have passed: it is never read from a clock, so a report can be
    reproduced.
    """
    per = period if isinstance(period, Period) else parse_period(period)
    for name, moment in (("as_of", as_of), ("now", now)):
        if moment is not None:
            require_aware(name, moment)
    with localcontext(_CONTEXT):
        return _compute(policy, per, list(units), activities, prognoses, as_of, now)


def _compute(
    policy: Policy,
    per: Period,
    units: list[UnitRecord],
    activities: Iterable[ActivityRecord],
    prognoses: Iterable[PrognosisRecord],
    as_of: datetime | None,
    now: datetime | None,
) -> Report:
    _require_unique("unit", [u.code for u in units])
    seen = [a for a in activities if as_of is None or a.recorded_at <= as_of]
    _require_unique("activity", [a.activity_id for a in seen])
    forecasts = [p for p in prognoses if as_of is None or p.submitted_at <= as_of]
    _require_unique("prognosis", [(p.unit_code, p.year) for p in forecasts])
    moment = now or as_of or _history_end(seen, forecasts, per)

    in_period: dict[str, list[ActivityRecord]] = defaultdict(list)
    realising: dict[str, list[ActivityRecord]] = defaultdict(list)
    for activity in seen:
        day = wib_date(activity.starts_at)
        if day in per:
            in_period[activity.unit_code].append(activity)
        if day.year == per.year and activity.prognosis_item_id is not None:
            realising[activity.unit_code].append(activity)
    forecast = {p.unit_code: p for p in forecasts if p.year == per.year}

    scope = _Scope(policy, policy.working_calendar(), per, as_of, moment)
    scored = [
        _unit_row(scope, unit, in_period[unit.code], realising[unit.code], forecast.get(unit.code))
        for unit in units
        if unit.active_during(per.first, per.last)
    ]
    scored.sort(key=lambda row: (-row.score, row.unit_code))
    rows = tuple(replace(row, rank=rank) for rank, row in enumerate(scored, start=1))
    with_input = sum(1 for row in rows if row.counts.activities)
    return Report(
        policy_version=policy.version,
        period=per.label,
        as_of=as_of,
        now=moment,
        units_active=len(rows),
        units_with_input=with_input,
        input_rate=percent(with_input, len(rows)) if rows else None,
        rows=rows,
        holiday_fallback_years=scope.calendar.fallback_years,
    )


def _require_unique(what: str, keys: list) -> None:
    # Duplicates mean a projection bug; scoring them twice would hide it.
    dupes = sorted(str(key) for key, n in Counter(keys).items() if n > 1)
    if dupes:
        raise ValueError(f"duplicate {what} records: {dupes[:5]}")


def _history_end(
    activities: list[ActivityRecord], prognoses: list[PrognosisRecord], per: Period
) -> datetime:
    """The last recorded moment: a replay of the same history gets the same answer."""
    moments = [a.recorded_at for a in activities]
    moments += [a.reported_at for a in activities if a.reported_at is not None]
    moments += [p.submitted_at for p in prognoses]
    return max(moments, default=datetime.combine(per.last, time.max, WIB))


def _status_at(activity: ActivityRecord, as_of: datetime | None) -> str:
    # A held/cancelled report recorded after as_of was not known then.
    reported_later = (
        as_of is not None and activity.reported_at is not None and activity.reported_at > as_of
    )
    return "planned" if reported_later else activity.status


@dataclass(frozen=True, slots=True)
class _Scope:
    """What is the same for every unit of one report."""

    policy: Policy
    calendar: WorkingCalendar
    period: Period
    as_of: datetime | None
    now: datetime


def _unit_row(
    scope: _Scope,
    unit: UnitRecord,
    activities: list[ActivityRecord],
    realising: list[ActivityRecord],
    forecast: PrognosisRecord | None,
) -> UnitRow:
    policy, moment = scope.policy, scope.now
    activities = sorted(activities, key=lambda a: a.activity_id)
    status = {a.activity_id: _status_at(a, scope.as_of) for a in activities}
    need = policy.timeliness.working_days
    timely = sum(
        1
        for a in activities
        if scope.calendar.working_days_between(wib_date(a.recorded_at), wib_date(a.starts_at))
        >= need
    )
    due, reported = _realisation(activities, status, policy.realisation.window_days, moment)
    public = [
        a
        for a in activities
        if a.visibility == "public"
        and status[a.activity_id] != "cancelled"
        # An activity still ahead has had no chance to be covered yet.
        and (a.starts_at <= moment or a.published_count >= 1)
    ]
    published = sum(1 for a in public if a.published_count >= 1)

    items = frozenset(forecast.item_ids) if forecast else frozenset()
    realised = {a.prognosis_item_id for a in realising if a.prognosis_item_id in items}
    prognosis_status = _prognosis_status(policy, unit, forecast, scope.period.year, moment)

    components = Components(
        input=_round(_HUNDRED if activities else Decimal(0)),
        timeliness=percent(timely, len(activities)) if activities else None,
        realisation=percent(reported, due) if due else None,
        prognosis=_prognosis_component(policy, prognosis_status, len(items), len(realised)),
        publication=percent(published, len(public)) if public else None,
    )
    score = _score(policy.weights, components)

    evidence = set(unit.event_ids)
    for a in activities:
        evidence.update(a.event_ids)
    for a in realising:
        if a.prognosis_item_id in items:
            evidence.update(a.event_ids)
    if forecast:
        evidence.update(forecast.event_ids)

    return UnitRow(
        rank=0,
        unit_code=unit.code,
        unit_name=unit.name,
        unit_kind=unit.kind,
        score=score,
        tier=tier_for(policy.tiers, score),
        components=components,
        counts=Counts(
            activities=len(activities),
            cancelled=sum(1 for s in status.values() if s == "cancelled"),
            timely=timely,
            due=due,
            reported=reported,
            public=len(public),
            published=published,
            prognosis_items=len(items),
            realised_items=len(realised),
        ),
        prognosis_status=prognosis_status,
        evidence=tuple(sorted(evidence)),
    )


def _realisation(
    activities: list[ActivityRecord], status: dict[str, str], window_days: int, moment: datetime
) -> tuple[int, int]:
    """(due, reported in time). Unreported with the window still open: not due yet."""
    today = wib_date(moment)
    due = reported = 0
    for a in activities:
        if a.starts_at > moment:
            continue
        closes = wib_date(a.starts_at) + timedelta(days=window_days)
        if (
            status[a.activity_id] in REPORTED_STATUSES
            and a.reported_at is not None
            and wib_date(a.reported_at) <= closes
        ):
            due += 1
            reported += 1
        elif today > closes:
            due += 1
    return due, reported


def _prognosis_status(
    policy: Policy,
    unit: UnitRecord,
    forecast: PrognosisRecord | None,
    year: int,
    moment: datetime,
) -> str:
    deadline = policy.prognosis.deadline.for_year(year)
    # A unit that came into being after the deadline could not meet it.
    joined_late = unit.active_from > deadline
    if forecast is None:
        not_due = joined_late or wib_date(moment) <= deadline
        return PROGNOSIS_NOT_DUE if not_due else PROGNOSIS_MISSING
    on_time = joined_late or wib_date(forecast.submitted_at) <= deadline
    return PROGNOSIS_ON_TIME if on_time else PROGNOSIS_LATE


def _prognosis_component(policy: Policy, status: str, items: int, realised: int) -> Decimal | None:
    if status == PROGNOSIS_NOT_DUE:
        return None
    if status == PROGNOSIS_MISSING:
        return _round(Decimal(0))
    on_time = _HUNDRED if status == PROGNOSIS_ON_TIME else Decimal(0)
    if items == 0:
        return _round(on_time)
    share = policy.prognosis.on_time_share
    return _round((share * on_time + (_HUNDRED - share) * percent(realised, items)) / _HUNDRED)


def _score(weights: Weights, components: Components) -> Decimal:
    """Weighted mean of the components that apply, from their rounded values,
    so the score can be recomputed from the exported columns."""
    applicable = [
        (getattr(weights, name), getattr(components, name))
        for name in COMPONENTS
        if getattr(components, name) is not None
    ]
    total = sum((w for w, _ in applicable), Decimal(0))
    if not total:
        return _round(Decimal(0))
    return _round(sum((w * v for w, v in applicable), Decimal(0)) / total)


def tier_for(tiers: Tiers, score: Decimal) -> str:
    if score >= tiers.apresiasi:
        return TIER_APRESIASI
    if score >= tiers.normal:
        return TIER_NORMAL
    return TIER_PERINGATAN
