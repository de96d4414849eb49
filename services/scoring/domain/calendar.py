"""Business dates in WIB and the working-day calendar of the policy.

Every date the scores depend on is a WIB (Asia/Jakarta) calendar date: a unit
in Kediri plans by the local day, whatever offset a timestamp was sent with.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holidays_lib

WIB = ZoneInfo("Asia/Jakarta")

SOURCE_POLICY = "policy"
SOURCE_LIBRARY = "library"


def require_aware(name: str, moment: datetime) -> None:
    # A naive datetime would be read in the host's local zone: the same
    # history would score differently on another machine.
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {moment!r}")


def wib_date(moment: datetime) -> date:
    require_aware("moment", moment)
    return moment.astimezone(WIB).date()


@lru_cache(maxsize=256)
def _library_holidays(country: str, year: int, categories: tuple[str, ...]) -> frozenset[date]:
    found = holidays_lib.country_holidays(country, years=year, categories=categories)
    return frozenset(day for day in found if day.year == year)


def _weekdays(first: date, last: date) -> int:
    """Mondays to Fridays in [first, last]; arithmetic, so long ranges stay cheap."""
    if last < first:
        return 0
    full_weeks, rest = divmod((last - first).days + 1, 7)
    start = first.weekday()
    return full_weeks * 5 + sum(1 for i in range(rest) if (start + i) % 7 < 5)


class WorkingCalendar:
    """Days off per year: pinned by the policy, else from the holidays library.

    A pinned year replaces the library entirely for that year, because the
    decree is the authority and the library only estimates lunar dates.
    """

    def __init__(
        self,
        pinned: Mapping[int, Iterable[date]],
        country: str = "ID",
        categories: Iterable[str] = ("public", "government"),
    ) -> None:
        self._pinned = {year: frozenset(days) for year, days in pinned.items()}
        self._country = country
        self._categories = tuple(categories)
        self._fallback_used: set[int] = set()

    def source(self, year: int) -> str:
        return SOURCE_POLICY if year in self._pinned else SOURCE_LIBRARY

    def days_off(self, year: int) -> frozenset[date]:
        """Holidays and cuti bersama of the year (weekends not included)."""
        if year in self._pinned:
            return self._pinned[year]
        self._fallback_used.add(year)
        return _library_holidays(self._country, year, self._categories)

    @property
    def fallback_years(self) -> tuple[int, ...]:
        """Years answered by the library so far: a report names them, since
        their dates can move with a library upgrade."""
        return tuple(sorted(self._fallback_used))

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.days_off(day.year)

    def working_days_between(self, first: date, last: date) -> int:
        """Working days strictly between two dates; 0 when last <= first + 1."""
        lo, hi = first + timedelta(days=1), last - timedelta(days=1)
        if hi < lo:
            return 0
        count = _weekdays(lo, hi)
        for year in range(lo.year, hi.year + 1):
            count -= sum(1 for d in self.days_off(year) if lo <= d <= hi and d.weekday() < 5)
        return count
