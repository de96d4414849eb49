"""Commands the agenda accepts: plain, validated, immutable. The HTTP API takes
these as request bodies, so their validation errors name the field."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, HttpUrl

from shared.contracts.agenda import PrognosisItem
from shared.contracts.types import (
    AwareDatetime,
    Category,
    Code,
    Leaders,
    LongText,
    ShortText,
    Title,
    Visibility,
)


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Person(Command):
    """Contact details: kept in the agenda's `people` table, never in events."""

    name: ShortText
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ()\-]{6,20}$")
    email: EmailStr | None = None


class RegisterUnit(Command):
    code: Code
    name: ShortText
    kind: Code
    parent_code: Code | None = None
    active_from: date
    active_until: date | None = None
    pic: Person | None = None
    verifikator: Person | None = None


class UpdateUnit(Command):
    expected_version: int | None = Field(default=None, ge=1)
    name: ShortText | None = None
    kind: Code | None = None
    parent_code: Code | None = None
    active_from: date | None = None
    active_until: date | None = None
    pic: Person | None = None
    verifikator: Person | None = None


class DeactivateUnit(Command):
    expected_version: int | None = Field(default=None, ge=1)
    active_until: date
    reason: ShortText


def _plannable(value: datetime) -> datetime:
    # Narrower than what events may carry, so what the newsroom derives (a teaser
    # the day before) still fits the contracts.
    if not 2000 <= value.year <= 2100:
        raise ValueError("must be between the years 2000 and 2100")
    return value


PlanDatetime = Annotated[AwareDatetime, AfterValidator(_plannable)]


class PlanActivity(Command):
    unit_code: Code
    title: Title
    description: LongText = ""
    starts_at: PlanDatetime
    ends_at: PlanDatetime
    location: ShortText | None = None
    category: Category
    visibility: Visibility = "public"
    leaders: Leaders = Field(default_factory=list)
    contact: Person | None = None
    prognosis_item_id: Code | None = None


class ReviseActivity(Command):
    expected_version: int = Field(ge=1)
    title: Title | None = None
    description: LongText | None = None
    location: ShortText | None = None
    category: Category | None = None
    visibility: Visibility | None = None
    leaders: Leaders | None = None
    contact: Person | None = None
    prognosis_item_id: Code | None = None


class RescheduleActivity(Command):
    # End after start is the domain's rule (it names `ends_at`).
    expected_version: int = Field(ge=1)
    starts_at: PlanDatetime
    ends_at: PlanDatetime
    reason: ShortText | None = None


class CancelActivity(Command):
    expected_version: int = Field(ge=1)
    reason: ShortText


class VerifyActivity(Command):
    expected_version: int = Field(ge=1)
    note: LongText | None = None


class ReportHeld(Command):
    expected_version: int = Field(ge=1)
    documentation_links: list[HttpUrl] = Field(default_factory=list, max_length=50)
    note: LongText | None = None


class SubmitPrognosis(Command):
    unit_code: Code
    year: int = Field(ge=2000, le=2100)
    items: list[PrognosisItem] = Field(max_length=1000)
    expected_version: int | None = Field(default=None, ge=0)
