"""Commands the agenda accepts: plain, validated, immutable. The HTTP API takes
these as request bodies, so their validation errors name the field."""

from __future__ import annotations

from datetime import date
from typing import Self

from pydantic import BaseModel, ConfigDict, EmailStr, Field, HttpUrl, model_validator

from shared.contracts.agenda import PrognosisItem
from shared.contracts.types import (
    AwareDatetime,
    Category,
    Code,
    Leader,
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


class PlanActivity(Command):
    unit_code: Code
    title: Title
    description: LongText = ""
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    location: ShortText | None = None
    category: Category
    visibility: Visibility = "public"
    leaders: list[Leader] = Field(default_factory=list, max_length=10)
    contact: Person | None = None
    prognosis_item_id: Code | None = None


class ReviseActivity(Command):
    expected_version: int = Field(ge=1)
    title: Title | None = None
    description: LongText | None = None
    location: ShortText | None = None
    category: Category | None = None
    visibility: Visibility | None = None
    leaders: list[Leader] | None = Field(default=None, max_length=10)
    contact: Person | None = None
    prognosis_item_id: Code | None = None


class RescheduleActivity(Command):
    expected_version: int = Field(ge=1)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    reason: ShortText | None = None

    @model_validator(mode="after")
    def _end_after_start(self) -> Self:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


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
