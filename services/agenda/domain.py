"""Agenda aggregates: units, activities and yearly prognoses. No I/O here."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from shared.aggregate import Aggregate, DomainError, InvalidState, NotFound
from shared.contracts.agenda import (
    ActivityCancelled,
    ActivityHeld,
    ActivityPlanned,
    ActivityRescheduled,
    ActivityRevised,
    ActivityVerified,
    PrognosisItem,
    PrognosisSubmitted,
    UnitDeactivated,
    UnitRegistered,
    UnitUpdated,
)
from shared.contracts.base import Event
from shared.contracts.types import WIB


def unit_stream(code: str) -> str:
    return f"unit-{code}"


def activity_stream(activity_id: str) -> str:
    return f"activity-{activity_id}"


def prognosis_stream(unit_code: str, year: int) -> str:
    return f"prognosis-{unit_code}-{year}"


class Unit(Aggregate):
    def __init__(self) -> None:
        super().__init__()
        self.code = ""
        self.active_from: date | None = None
        self.active_until: date | None = None
        self.deactivated = False
        self.fields: dict[str, Any] = {}

    def apply(self, event: Event) -> None:
        match event:
            case UnitRegistered():
                self.code = event.unit_code
                self.fields = event.model_dump(exclude={"unit_code"})
                self.active_from, self.active_until = event.active_from, event.active_until
            case UnitUpdated():
                changes = event.model_dump(exclude={"unit_code"}, exclude_none=True)
                self.fields.update(changes)
                self.active_from = self.fields["active_from"]
                self.active_until = self.fields.get("active_until")
            case UnitDeactivated():
                self.deactivated = True
                self.active_until = event.active_until

    def register(self, **fields: Any) -> None:
        if self.exists:
            raise InvalidState(f"unit {fields['unit_code']} is already registered", "code")
        _check_range(fields["active_from"], fields.get("active_until"))
        self.record(UnitRegistered(**fields))

    def update(self, **changes: Any) -> None:
        self._must_exist()
        changed = {k: v for k, v in changes.items() if v is not None and self.fields.get(k) != v}
        if not changed:
            return
        _check_range(changed.get("active_from", self.active_from),
                     changed.get("active_until", self.active_until))
        self.record(UnitUpdated(unit_code=self.code, **changed))

    def deactivate(self, active_until: date, reason: str) -> None:
        self._must_exist()
        if self.deactivated:
            raise InvalidState(f"unit {self.code} is already deactivated")
        _check_range(self.active_from, active_until, field="active_until")
        self.record(UnitDeactivated(unit_code=self.code, active_until=active_until, reason=reason))

    def is_active_on(self, day: date) -> bool:
        if not self.exists or self.active_from is None or day < self.active_from:
            return False
        return self.active_until is None or day <= self.active_until

    def is_active_during(self, first: date, last: date) -> bool:
        if not self.exists or self.active_from is None or self.active_from > last:
            return False
        return self.active_until is None or self.active_until >= first

    def _must_exist(self) -> None:
        if not self.exists:
            raise NotFound("unit not found", "unit_code")


def _check_range(start: date | None, end: date | None, field: str = "active_until") -> None:
    if start and end and end < start:
        raise DomainError("must not be before active_from", field)


class Activity(Aggregate):
    def __init__(self) -> None:
        super().__init__()
        self.activity_id = ""
        self.unit_code = ""
        self.status = "planned"
        self.verified = False
        self.starts_at: datetime | None = None
        self.ends_at: datetime | None = None

    def apply(self, event: Event) -> None:
        match event:
            case ActivityPlanned():
                self.activity_id, self.unit_code = event.activity_id, event.unit_code
                self.starts_at, self.ends_at = event.starts_at, event.ends_at
            case ActivityRescheduled():
                self.starts_at, self.ends_at = event.starts_at, event.ends_at
            case ActivityCancelled():
                self.status = "cancelled"
            case ActivityVerified():
                self.verified = True
                if self.status == "planned":
                    self.status = "verified"
            case ActivityHeld():
                self.status = "held"

    def plan(self, unit: Unit, **fields: Any) -> None:
        if self.exists:
            raise InvalidState("activity already exists", "activity_id")
        if not unit.exists:
            raise DomainError(f"unit {fields['unit_code']} is not registered", "unit_code")
        start_day = fields["starts_at"].astimezone(WIB).date()
        if not unit.is_active_on(start_day):
            raise DomainError(
                f"unit {unit.code} is not active on {start_day.isoformat()} "
                "(only active units may plan)", "unit_code")
        _check_times(fields["starts_at"], fields["ends_at"])
        self.record(ActivityPlanned(**fields))

    def revise(self, **changes: Any) -> None:
        self._must_be_open("revised")
        changed = {k: v for k, v in changes.items() if v is not None}
        if not changed:
            raise DomainError("nothing to revise: give at least one field", "body")
        self.record(ActivityRevised(activity_id=self.activity_id, unit_code=self.unit_code,
                                    **changed))

    def reschedule(self, starts_at: datetime, ends_at: datetime, reason: str | None) -> None:
        self._must_be_open("rescheduled")
        _check_times(starts_at, ends_at)
        self.record(ActivityRescheduled(
            activity_id=self.activity_id, unit_code=self.unit_code, starts_at=starts_at,
            ends_at=ends_at, previous_starts_at=self.starts_at, previous_ends_at=self.ends_at,
            reason=reason))

    def cancel(self, reason: str) -> None:
        self._must_be_open("cancelled")
        self.record(ActivityCancelled(activity_id=self.activity_id, unit_code=self.unit_code,
                                      reason=reason))

    def verify(self, verifier_id: str, note: str | None) -> None:
        # Kominfo may verify an entry after the day too (imported history is
        # recorded as held at once); only a cancelled activity cannot be.
        if not self.exists:
            raise NotFound("activity not found", "activity_id")
        if self.status == "cancelled":
            raise InvalidState("a cancelled activity cannot be verified")
        if self.verified:
            raise InvalidState("activity is already verified")
        self.record(ActivityVerified(activity_id=self.activity_id, unit_code=self.unit_code,
                                     verifier_id=verifier_id, note=note))

    def report_held(self, documentation_links: list[Any], note: str | None,
                    now: datetime) -> None:
        self._must_be_open("reported held")
        if self.starts_at and now < self.starts_at:
            raise InvalidState("activity has not started yet; report it after it is held")
        self.record(ActivityHeld(activity_id=self.activity_id, unit_code=self.unit_code,
                                 documentation_links=documentation_links, note=note))

    def _must_be_open(self, verb: str) -> None:
        if not self.exists:
            raise NotFound("activity not found", "activity_id")
        if self.status in ("cancelled", "held"):
            raise InvalidState(f"a {self.status} activity cannot be {verb}")


def _check_times(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise DomainError("must be after starts_at", "ends_at")


class Prognosis(Aggregate):
    def __init__(self) -> None:
        super().__init__()
        self.revision = 0

    def apply(self, event: Event) -> None:
        if isinstance(event, PrognosisSubmitted):
            self.revision = event.revision

    def submit(self, unit: Unit, year: int, items: list[PrognosisItem]) -> None:
        if not unit.exists:
            raise DomainError("unit is not registered", "unit_code")
        if not unit.is_active_during(date(year, 1, 1), date(year, 12, 31)):
            raise DomainError(f"unit {unit.code} is not active in {year}", "year")
        seen: set[str] = set()
        for index, item in enumerate(items):
            if item.item_id in seen:
                raise DomainError(f"duplicate item_id {item.item_id}", f"items.{index}.item_id")
            seen.add(item.item_id)
        self.record(PrognosisSubmitted(unit_code=unit.code, year=year,
                                       revision=self.revision + 1, items=items))
