"""Events published by the newsroom service on exchange `simalik.newsroom`."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from .base import Event, Registry
from .types import AwareDatetime, Code, LongText, ShortText, Title

TaskKind = Literal["press_release", "social_teaser", "social_recap", "coverage", "correction"]
Channel = Literal["website", "instagram", "facebook", "x", "youtube", "tiktok", "media_massa"]


class NewsroomEvent(Event):
    service: ClassVar[str] = "newsroom"


class TaskCreated(NewsroomEvent):
    routing_key: ClassVar[str] = "task.created"
    task_id: str
    activity_id: str
    unit_code: Code
    kind: TaskKind
    channel: Channel
    title: Title
    brief: LongText = ""
    due_at: AwareDatetime
    rule_id: str
    public: bool = True


class TaskAssigned(NewsroomEvent):
    routing_key: ClassVar[str] = "task.assigned"
    task_id: str
    activity_id: str
    unit_code: Code
    assignee_id: str


class TaskSubmitted(NewsroomEvent):
    routing_key: ClassVar[str] = "task.submitted"
    task_id: str
    activity_id: str
    unit_code: Code
    draft_text: LongText | None = None
    draft_url: HttpUrl | None = None


class NeutralityOverride(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    reason: ShortText
    terms: list[str] = Field(default_factory=list)


class TaskApproved(NewsroomEvent):
    routing_key: ClassVar[str] = "task.approved"
    task_id: str
    activity_id: str
    unit_code: Code
    reviewer_id: str
    neutrality_override: NeutralityOverride | None = None


class TaskRejected(NewsroomEvent):
    routing_key: ClassVar[str] = "task.rejected"
    task_id: str
    activity_id: str
    unit_code: Code
    reviewer_id: str
    reason: ShortText


class TaskPublished(NewsroomEvent):
    routing_key: ClassVar[str] = "task.published"
    task_id: str
    activity_id: str
    unit_code: Code
    url: HttpUrl
    published_at: AwareDatetime


class TaskCancelled(NewsroomEvent):
    routing_key: ClassVar[str] = "task.cancelled"
    task_id: str
    activity_id: str
    unit_code: Code
    reason: ShortText


class TaskRescheduled(NewsroomEvent):
    """The activity moved; the task's due time moved with it."""

    routing_key: ClassVar[str] = "task.rescheduled"
    task_id: str
    activity_id: str
    unit_code: Code
    due_at: AwareDatetime
    previous_due_at: AwareDatetime


class TaskRevised(NewsroomEvent):
    """The activity's details changed; title and brief follow."""

    routing_key: ClassVar[str] = "task.revised"
    task_id: str
    activity_id: str
    unit_code: Code
    title: Title
    brief: LongText = ""


NEWSROOM_EVENTS = Registry(
    TaskCreated,
    TaskAssigned,
    TaskSubmitted,
    TaskApproved,
    TaskRejected,
    TaskPublished,
    TaskCancelled,
    TaskRescheduled,
    TaskRevised,
)
