"""Field types shared by the contracts: validated text, WIB datetimes, leaders."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BeforeValidator, Field

# WIB is UTC+7 (Asia/Jakarta has kept it since 1964). A fixed offset, not the
# zone database, so dates before 1964 keep +07:00 too; the calendar feed names
# the zone itself (services/agenda/calendar.py).
WIB = timezone(timedelta(hours=7), "WIB")
JAKARTA = ZoneInfo("Asia/Jakarta")

# C0 controls except TAB, LF, CR; DEL; C1 controls. NUL is the first of them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Line and paragraph separators, and bidirectional overrides/isolates (text
# that reads differently from how it is stored).
_LINE_BREAK = re.compile(r"[\r\n\t\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _no_control(value: str) -> str:
    match = _CONTROL.search(value)
    if match:
        char = match.group()
        name = "NUL byte" if char == "\x00" else f"control character U+{ord(char):04X}"
        raise ValueError(f"must not contain a {name} (at index {match.start()})")
    return value


def _single_line(value: str) -> str:
    _no_control(value)
    if _LINE_BREAK.search(value):
        raise ValueError("must be a single line (no tab, line break or direction override)")
    if not value.strip():
        raise ValueError("must not be blank")
    return value


# The business range of dates: wide enough for any history or plan, and far from
# the ends of the calendar, where an offset would push a value past year 9999.
EARLIEST = date(1900, 1, 1)
LATEST = date(2200, 12, 31)


def _assume_wib(value: object) -> object:
    """A datetime without an offset is taken as WIB (Asia/Jakarta), as the docs say."""
    if isinstance(value, str):
        if _DATE_ONLY.fullmatch(value.strip()):
            raise ValueError("must be a date and time, e.g. 2030-03-02T08:00:00+07:00")
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value  # pydantic reports the parse error with the field name
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=WIB)
    return value


def _in_wib(value: datetime) -> datetime:
    """Stored and published in WIB, whatever offset the caller used: the same
    instant, shown as the city's staff and subscribers read it."""
    if not EARLIEST <= value.replace(tzinfo=None).date() <= LATEST:
        raise ValueError(f"must be between {EARLIEST.year} and {LATEST.year}")
    return value.astimezone(WIB)


def _moment_in_range(value: datetime | date) -> datetime | date:
    day = value.replace(tzinfo=None).date() if isinstance(value, datetime) else value
    if not EARLIEST <= day <= LATEST:
        raise ValueError(f"must be between {EARLIEST.year} and {LATEST.year}")
    return value


_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


Title = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_single_line)]
ShortText = Annotated[str, Field(min_length=1, max_length=300), AfterValidator(_single_line)]
LongText = Annotated[str, Field(max_length=5000), AfterValidator(_no_control)]
Code = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_\-]{0,63}$")]
AwareDatetime = Annotated[datetime, BeforeValidator(_assume_wib), AfterValidator(_in_wib)]
# A bound in a query: a date (the whole day, WIB) or a datetime.
Moment = Annotated[date | datetime, AfterValidator(_moment_in_range)]

Leader = Literal[
    "walikota", "wakil_walikota", "pj_walikota", "sekda", "asisten", "kepala_opd", "camat", "lurah"
]
Visibility = Literal["public", "internal"]


def _unique(values: list) -> list:
    if len(set(values)) != len(values):
        raise ValueError("must not repeat an entry")
    return values


Leaders = Annotated[list[Leader], Field(max_length=10), AfterValidator(_unique)]
Category = Annotated[str, Field(pattern=r"^[a-z][a-z_]{1,39}$")]
