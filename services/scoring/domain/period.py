"""Report periods: 'YYYY-MM' (month), 'YYYY-Qn' (quarter), 'YYYY' (year)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

# [0-9], not \d: \d also matches non-ASCII digits, which int() would accept.
_PATTERN = re.compile(r"(?P<year>[0-9]{4})(?:-(?:(?P<month>[0-9]{2})|Q(?P<quarter>[1-4])))?")


@dataclass(frozen=True, slots=True)
class Period:
    label: str
    first: date  # inclusive, WIB business date
    last: date  # inclusive

    @property
    def year(self) -> int:
        return self.first.year

    def __contains__(self, day: date) -> bool:
        return self.first <= day <= self.last


def _month_end(year: int, month: int) -> date:
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return following - timedelta(days=1)


def parse_period(text: str) -> Period:
    match = _PATTERN.fullmatch(text)
    if not match:
        raise ValueError(f"period must be YYYY, YYYY-MM or YYYY-Qn, got {text!r}")
    year = int(match["year"])
    if not 1900 <= year <= 2200:
        raise ValueError(f"period year must be between 1900 and 2200, got {text!r}")
    if match["month"]:
        month = int(match["month"])
        if not 1 <= month <= 12:
            raise ValueError(f"period month out of range: {text!r}")
        return Period(text, date(year, month, 1), _month_end(year, month))
    if match["quarter"]:
        first_month = 3 * int(match["quarter"]) - 2
        return Period(text, date(year, first_month, 1), _month_end(year, first_month + 2))
    return Period(text, date(year, 1, 1), date(year, 12, 31))
