"""What the scoring projections know, as plain values the rules can read.

The service fills these from its projection tables; the rules never see a
database row or an event envelope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from .calendar import require_aware

STATUSES = frozenset({"planned", "verified", "held", "cancelled"})
REPORTED_STATUSES = frozenset({"held", "cancelled"})
VISIBILITIES = frozenset({"public", "internal"})


def _plain_date(name: str, value: object) -> None:
    # datetime is a subclass of date, and comparing the two raises mid-report.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValueError(f"{name} must be a date, got {value!r}")


@dataclass(frozen=True, slots=True)
class UnitRecord:
    code: str
    name: str
    kind: str
    active_from: date
    active_until: date | None  # last day the unit existed, inclusive
    event_ids: tuple[str, ...] = ()  # unit.registered/updated/deactivated behind the dates

    def __post_init__(self) -> None:
        _plain_date("active_from", self.active_from)
        if self.active_until is not None:
            _plain_date("active_until", self.active_until)
            if self.active_until < self.active_from:
                raise ValueError(f"unit {self.code}: active_until before active_from")
        object.__setattr__(self, "event_ids", tuple(self.event_ids))

    def active_during(self, first: date, last: date) -> bool:
        return self.active_from <= last and (
            self.active_until is None or self.active_until >= first
        )


@dataclass(frozen=True, slots=True)
class ActivityRecord:
    activity_id: str
    unit_code: str
    starts_at: datetime  # the current start: a reschedule moves the activity's period
    recorded_at: datetime  # when activity.planned was recorded
    status: str  # planned | verified | held | cancelled
    reported_at: datetime | None  # when activity.held / activity.cancelled was recorded
    visibility: str  # public | internal
    prognosis_item_id: str | None
    published_count: int  # published newsroom tasks
    event_ids: tuple[str, ...]

    def __post_init__(self) -> None:
        require_aware("starts_at", self.starts_at)
        require_aware("recorded_at", self.recorded_at)
        if self.reported_at is not None:
            require_aware("reported_at", self.reported_at)
        if self.status not in STATUSES:
            raise ValueError(f"activity {self.activity_id}: unknown status {self.status!r}")
        if self.visibility not in VISIBILITIES:
            raise ValueError(f"activity {self.activity_id}: unknown visibility {self.visibility!r}")
        if self.published_count < 0:
            raise ValueError(f"activity {self.activity_id}: negative published_count")
        object.__setattr__(self, "event_ids", tuple(self.event_ids))


@dataclass(frozen=True, slots=True)
class PrognosisRecord:
    unit_code: str
    year: int
    submitted_at: datetime  # first submission: a later revision does not reset the deadline
    item_ids: tuple[str, ...]  # items of the latest revision
    event_ids: tuple[str, ...]

    def __post_init__(self) -> None:
        require_aware("submitted_at", self.submitted_at)
        object.__setattr__(self, "item_ids", tuple(self.item_ids))
        object.__setattr__(self, "event_ids", tuple(self.event_ids))
