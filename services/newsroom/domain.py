"""Newsroom domain: the publication task and what the newsroom knows about an
activity. No I/O here."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from shared.aggregate import Aggregate, DomainError, InvalidState, NotFound
from shared.contracts.agenda import (
    ActivityCancelled,
    ActivityHeld,
    ActivityPlanned,
    ActivityRescheduled,
    ActivityRevised,
    ActivityVerified,
)
from shared.contracts.base import Event
from shared.contracts.newsroom import (
    NeutralityOverride,
    TaskApproved,
    TaskAssigned,
    TaskCancelled,
    TaskCreated,
    TaskPublished,
    TaskRejected,
    TaskRescheduled,
    TaskRevised,
    TaskSubmitted,
)

# Task ids are derived, never drawn: the same activity and rule always give the
# same task, so a redelivered or replayed activity.planned cannot make two.
TASK_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://simalik.kedirikota.go.id/newsroom/task")

OPEN = ("created", "assigned", "submitted", "approved", "rejected")


def task_id_for(activity_id: str, key: str) -> str:
    return str(uuid.uuid5(TASK_NAMESPACE, f"{activity_id}/{key}"))


def task_stream(task_id: str) -> str:
    return f"task-{task_id}"


@dataclass(frozen=True, slots=True)
class ActivityFacts:
    """The newsroom's own record of an activity, folded from agenda events."""

    activity_id: str
    unit_code: str
    title: str
    description: str
    location: str | None
    category: str
    visibility: str
    leaders: tuple[str, ...]
    starts_at: datetime
    ends_at: datetime
    status: str = "planned"  # planned | verified | held | cancelled
    verified: bool = False
    version: int = 0

    @property
    def public(self) -> bool:
        return self.visibility == "public"

    @classmethod
    def planned(cls, e: ActivityPlanned, version: int = 1) -> ActivityFacts:
        return cls(activity_id=e.activity_id, unit_code=e.unit_code, title=e.title,
                   description=e.description, location=e.location, category=e.category,
                   visibility=e.visibility, leaders=tuple(e.leaders), starts_at=e.starts_at,
                   ends_at=e.ends_at, version=version)

    def evolve(self, event: Event, version: int) -> ActivityFacts:
        match event:
            case ActivityRevised():
                changes = event.model_dump(include={"title", "description", "location",
                                                    "category", "visibility", "leaders"},
                                           exclude_none=True)
                if "leaders" in changes:
                    changes["leaders"] = tuple(changes["leaders"])
                return replace(self, **changes, version=version)
            case ActivityRescheduled():
                return replace(self, starts_at=event.starts_at, ends_at=event.ends_at,
                               version=version)
            case ActivityCancelled():
                return replace(self, status="cancelled", version=version)
            case ActivityVerified():
                status = "verified" if self.status == "planned" else self.status
                return replace(self, verified=True, status=status, version=version)
            case ActivityHeld():
                return replace(self, status="held", version=version)
        return replace(self, version=version)


@dataclass(frozen=True, slots=True)
class PlannedTask:
    """What the rules ask for; becomes a TaskCreated."""

    task_id: str
    rule_id: str
    kind: str
    channel: str
    title: str
    brief: str
    due_at: datetime
    public: bool = True


class Neutrality(Protocol):
    def hits(self, text: str) -> list[str]: ...


class Task(Aggregate):
    def __init__(self) -> None:
        super().__init__()
        self.task_id = ""
        self.activity_id = ""
        self.unit_code = ""
        self.rule_id = ""
        self.kind = ""
        self.channel = ""
        self.status = "new"
        self.title = ""
        self.brief = ""
        self.due_at: datetime | None = None
        self.assignee_id: str | None = None
        self.draft_text: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def apply(self, event: Event) -> None:
        match event:
            case TaskCreated():
                self.task_id, self.activity_id = event.task_id, event.activity_id
                self.unit_code, self.rule_id = event.unit_code, event.rule_id
                self.kind, self.channel = event.kind, event.channel
                self.title, self.brief, self.due_at = event.title, event.brief, event.due_at
                self.status = "created"
            case TaskAssigned():
                self.assignee_id = event.assignee_id
                self.status = "assigned"
            case TaskSubmitted():
                self.draft_text = event.draft_text
                self.status = "submitted"
            case TaskApproved():
                self.status = "approved"
            case TaskRejected():
                self.status = "rejected"
            case TaskPublished():
                self.status = "published"
            case TaskCancelled():
                self.status = "cancelled"
            case TaskRescheduled():
                self.due_at = event.due_at
            case TaskRevised():
                self.title, self.brief = event.title, event.brief

    # -- created by the rules -------------------------------------------------------

    def create(self, planned: PlannedTask, activity: ActivityFacts) -> None:
        if self.exists:
            raise InvalidState(f"task {planned.task_id} already exists", "task_id")
        self.record(TaskCreated(
            task_id=planned.task_id, activity_id=activity.activity_id,
            unit_code=activity.unit_code, kind=planned.kind, channel=planned.channel,
            title=planned.title, brief=planned.brief, due_at=planned.due_at,
            rule_id=planned.rule_id, public=planned.public))

    # -- the editorial workflow -----------------------------------------------------

    def assign(self, assignee_id: str) -> None:
        self._require("assigned", "created", "assigned", "rejected")
        if self.status == "assigned" and assignee_id == self.assignee_id:
            return  # already theirs: nothing happened
        self.record(TaskAssigned(**self._ids(), assignee_id=assignee_id))

    def submit(self, draft_text: str | None, draft_url: str | None) -> None:
        self._require("submitted", "assigned", "rejected")
        if not (draft_text and draft_text.strip()) and not draft_url:
            raise DomainError("give draft_text or draft_url", "draft_text")
        self.record(TaskSubmitted(**self._ids(), draft_text=draft_text, draft_url=draft_url))

    def approve(self, reviewer_id: str, activity: ActivityFacts | None, neutrality: Neutrality,
                override_reason: str | None = None) -> None:
        self._require("approved", "submitted")
        if activity is None or not activity.verified:
            raise InvalidState(
                f"activity {self.activity_id} is not verified yet: content about an activity "
                "can be approved only after the verifikator has verified it", "activity_id")
        override = None
        hits = neutrality.hits(self.draft_text or "")
        if hits:
            terms = ", ".join(f"'{h}'" for h in hits)
            if not override_reason:
                raise DomainError(
                    f"the draft contains partisan terms ({terms}), which ASN neutrality rules "
                    "forbid; fix the draft, or approve with an override_reason",
                    "override_reason")
            override = NeutralityOverride(reason=override_reason, terms=hits)
        self.record(TaskApproved(**self._ids(), reviewer_id=reviewer_id,
                                 neutrality_override=override))

    def reject(self, reviewer_id: str, reason: str) -> None:
        self._require("rejected", "submitted")
        self.record(TaskRejected(**self._ids(), reviewer_id=reviewer_id, reason=reason))

    def publish(self, url: str, published_at: datetime) -> None:
        self._require("published", "approved")
        self.record(TaskPublished(**self._ids(), url=url, published_at=published_at))

    def cancel(self, reason: str) -> None:
        self._require("cancelled", *OPEN)
        self.record(TaskCancelled(**self._ids(), reason=reason))

    # -- following the activity -----------------------------------------------------

    def reschedule(self, due_at: datetime) -> None:
        self._require("rescheduled", *OPEN)
        if self.due_at is not None and due_at == self.due_at:
            return
        self.record(TaskRescheduled(**self._ids(), due_at=due_at, previous_due_at=self.due_at))

    def revise(self, title: str, brief: str) -> None:
        self._require("revised", *OPEN)
        if (title, brief) == (self.title, self.brief):
            return
        self.record(TaskRevised(**self._ids(), title=title, brief=brief))

    def _ids(self) -> dict[str, str]:
        return {"task_id": self.task_id, "activity_id": self.activity_id,
                "unit_code": self.unit_code}

    def _require(self, verb: str, *allowed: str) -> None:
        if not self.exists:
            raise NotFound("task not found", "task_id")
        if self.status not in allowed:
            raise InvalidState(
                f"task is {self.status}; it can be {verb} only when it is "
                f"{_either(allowed)}")


def _either(states: tuple[str, ...]) -> str:
    return states[0] if len(states) == 1 else f"{', '.join(states[:-1])} or {states[-1]}"
