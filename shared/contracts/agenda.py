"""Events published by the agenda service on exchange `simalik.agenda`.

Ids of people (PIC, verifikator, contact, actor) appear; their names and contact
details never do (UU PDP 27/2022): those stay in the agenda's `people` table."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from .base import Event, Registry
from .types import AwareDatetime, Category, Code, Leaders, LongText, ShortText, Title, Visibility


class AgendaEvent(Event):
    service: ClassVar[str] = "agenda"


class UnitRegistered(AgendaEvent):
    routing_key: ClassVar[str] = "unit.registered"
    unit_code: Code
    name: ShortText
    kind: Code
    parent_code: Code | None = None
    active_from: date
    active_until: date | None = None
    pic_id: str | None = None
    verifikator_id: str | None = None


class UnitUpdated(AgendaEvent):
    """Carries the fields that changed; absent fields keep their value."""

    routing_key: ClassVar[str] = "unit.updated"
    unit_code: Code
    name: ShortText | None = None
    kind: Code | None = None
    parent_code: Code | None = None
    active_from: date | None = None
    active_until: date | None = None
    pic_id: str | None = None
    verifikator_id: str | None = None


class UnitDeactivated(AgendaEvent):
    routing_key: ClassVar[str] = "unit.deactivated"
    unit_code: Code
    active_until: date
    reason: ShortText


class ActivityPlanned(AgendaEvent):
    routing_key: ClassVar[str] = "activity.planned"
    activity_id: str
    unit_code: Code
    title: Title
    description: LongText = ""
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    location: ShortText | None = None
    category: Category
    visibility: Visibility
    leaders: Leaders = Field(default_factory=list)
    contact_id: str | None = None
    prognosis_item_id: str | None = None
    # "api" for entries by a PIC, "import" for rows imported later (recorded now about the past).
    origin: str = "api"
    import_ref: str | None = None


class ActivityRevised(AgendaEvent):
    """Carries the detail fields that changed; dates change only by rescheduling."""

    routing_key: ClassVar[str] = "activity.revised"
    activity_id: str
    unit_code: Code
    title: Title | None = None
    description: LongText | None = None
    location: ShortText | None = None
    category: Category | None = None
    visibility: Visibility | None = None
    leaders: Leaders | None = None
    contact_id: str | None = None
    prognosis_item_id: str | None = None


class ActivityRescheduled(AgendaEvent):
    routing_key: ClassVar[str] = "activity.rescheduled"
    activity_id: str
    unit_code: Code
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    previous_starts_at: AwareDatetime
    previous_ends_at: AwareDatetime
    reason: ShortText | None = None


class ActivityCancelled(AgendaEvent):
    routing_key: ClassVar[str] = "activity.cancelled"
    activity_id: str
    unit_code: Code
    reason: ShortText


class ActivityVerified(AgendaEvent):
    routing_key: ClassVar[str] = "activity.verified"
    activity_id: str
    unit_code: Code
    verifier_id: str
    note: LongText | None = None


class ActivityHeld(AgendaEvent):
    routing_key: ClassVar[str] = "activity.held"
    activity_id: str
    unit_code: Code
    documentation_links: list[HttpUrl] = Field(default_factory=list, max_length=50)
    note: LongText | None = None


class PrognosisItem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    item_id: Code
    title: Title
    month: int = Field(ge=1, le=12)
    category: Category
    leaders: Leaders = Field(default_factory=list)


class PrognosisSubmitted(AgendaEvent):
    """A unit's forecast for a year; a revision replaces the whole item list."""

    routing_key: ClassVar[str] = "prognosis.submitted"
    unit_code: Code
    year: int = Field(ge=2000, le=2100)
    revision: int = Field(ge=1)
    items: list[PrognosisItem] = Field(max_length=1000)


AGENDA_EVENTS = Registry(
    UnitRegistered,
    UnitUpdated,
    UnitDeactivated,
    ActivityPlanned,
    ActivityRevised,
    ActivityRescheduled,
    ActivityCancelled,
    ActivityVerified,
    ActivityHeld,
    PrognosisSubmitted,
)
