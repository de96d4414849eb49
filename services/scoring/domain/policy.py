"""The versioned compliance policy (services/scoring/policy/*.yaml)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .calendar import WorkingCalendar

POLICY_DIR = Path(__file__).resolve().parent.parent / "policy"
DEFAULT_POLICY_PATH = POLICY_DIR / "compliance-v1.yaml"

COMPONENTS = ("input", "timeliness", "realisation", "prognosis", "publication")

Percent = Annotated[Decimal, Field(ge=0, le=100)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Weights(_Frozen):
    input: Percent
    timeliness: Percent
    realisation: Percent
    prognosis: Percent
    publication: Percent

    @model_validator(mode="after")
    def _sum_is_100(self) -> Weights:
        total = sum((getattr(self, name) for name in COMPONENTS), Decimal(0))
        if total != 100:
            raise ValueError(f"weights must add up to 100, they add up to {total}")
        return self


class Tiers(_Frozen):
    apresiasi: Percent
    normal: Percent

    @model_validator(mode="after")
    def _ordered(self) -> Tiers:
        if self.normal > self.apresiasi:
            raise ValueError("tier 'normal' must not be above 'apresiasi'")
        return self


class Timeliness(_Frozen):
    working_days: int = Field(default=3, ge=0, le=60)


class Realisation(_Frozen):
    window_days: int = Field(default=7, ge=0, le=366)


class Deadline(_Frozen):
    month: int = Field(ge=1, le=12)
    day: int = Field(ge=1, le=31)
    year_offset: int = Field(default=0, ge=-1, le=0)

    @model_validator(mode="after")
    def _exists_every_year(self) -> Deadline:
        date(2001, self.month, self.day)  # a non-leap year: 29 February is refused
        return self

    def for_year(self, year: int) -> date:
        return date(year + self.year_offset, self.month, self.day)


class Prognosis(_Frozen):
    deadline: Deadline = Deadline(month=1, day=31)
    on_time_share: Percent = Decimal(50)


class Fallback(_Frozen):
    country: str = "ID"
    categories: tuple[str, ...] = ("public", "government")


class HolidayYear(_Frozen):
    decree: str
    public: dict[date, str] = {}
    cuti_bersama: dict[date, str] = {}

    def days(self) -> frozenset[date]:
        return frozenset(self.public) | frozenset(self.cuti_bersama)


class CalendarPolicy(_Frozen):
    fallback: Fallback = Fallback()
    years: dict[int, HolidayYear] = {}

    @model_validator(mode="after")
    def _dates_in_their_year(self) -> CalendarPolicy:
        for year, listed in self.years.items():
            strays = sorted(d for d in listed.days() if d.year != year)
            if strays:
                raise ValueError(f"calendar year {year} lists dates of another year: {strays}")
        return self


class Policy(_Frozen):
    version: str = Field(min_length=1)
    weights: Weights
    tiers: Tiers
    timeliness: Timeliness = Timeliness()
    realisation: Realisation = Realisation()
    prognosis: Prognosis = Prognosis()
    calendar: CalendarPolicy = CalendarPolicy()

    @field_validator("version", mode="before")
    @classmethod
    def _version_is_text(cls, value: object) -> object:
        # `version: 1.10` in YAML would silently become the float 1.1.
        if not isinstance(value, str):
            raise ValueError("version must be a quoted string")
        return value

    def working_calendar(self) -> WorkingCalendar:
        """A fresh calendar: it records which years fell back to the library."""
        return WorkingCalendar(
            {year: listed.days() for year, listed in self.calendar.years.items()},
            country=self.calendar.fallback.country,
            categories=self.calendar.fallback.categories,
        )


def parse_policy(text: str) -> Policy:
    return Policy.model_validate(yaml.safe_load(text))


def load_policy(path: Path | str = DEFAULT_POLICY_PATH) -> Policy:
    # The one file read in the domain: the policy ships with the code.
    return parse_policy(Path(path).read_text(encoding="utf-8"))
