"""Commands the newsroom's editors send: plain, validated, immutable. The HTTP API
takes these as request bodies, so their validation errors name the field.

Every command on a task carries the version it was decided on; a stale one gets
409 instead of overwriting someone else's change."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator

from shared.contracts.types import AwareDatetime, LongText, ShortText

PersonId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:@\-]+$")]


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    expected_version: int = Field(ge=1)


class AssignTask(Command):
    assignee_id: PersonId


class SubmitTask(Command):
    """The draft: its text, a link to it (a shared document, a video), or both."""

    draft_text: LongText | None = None
    draft_url: HttpUrl | None = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not (self.draft_text and self.draft_text.strip()) and self.draft_url is None:
            raise ValueError("give draft_text or draft_url")
        return self


class ApproveTask(Command):
    # Needed only when the draft contains partisan terms (ASN neutrality check);
    # recorded in task.approved with the terms it overrides.
    override_reason: ShortText | None = None


class RejectTask(Command):
    reason: ShortText


class PublishTask(Command):
    url: HttpUrl
    published_at: AwareDatetime | None = None  # defaults to when the command is handled


class CancelTask(Command):
    reason: ShortText
