"""The task aggregate: the editorial workflow and its illegal transitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.newsroom.domain import ActivityFacts, PlannedTask, Task
from services.newsroom.rules import load_neutrality
from shared.aggregate import DomainError, InvalidState, NotFound
from shared.contracts.newsroom import TaskApproved
from shared.contracts.types import WIB

NEUTRALITY = load_neutrality()
START = datetime(2030, 3, 2, 8, tzinfo=WIB)


def activity(verified: bool = True) -> ActivityFacts:
    return ActivityFacts(activity_id="a1", unit_code="dinkes", title="Posyandu",
                         description="", location=None, category="pelayanan_publik",
                         visibility="public", leaders=("walikota",), starts_at=START,
                         ends_at=START + timedelta(hours=3), verified=verified,
                         status="verified" if verified else "planned")


def new_task() -> Task:
    task = Task()
    task.create(PlannedTask(task_id="t1", rule_id="public-teaser-instagram",
                            kind="social_teaser", channel="instagram", title="Teaser: Posyandu",
                            brief="", due_at=START - timedelta(days=1)), activity())
    return Task.replay(task.pending)


def at(status: str) -> Task:
    task = new_task()
    if status == "created":
        return task
    steps = {
        "assigned": lambda t: t.assign("writer-1"),
        "submitted": lambda t: t.submit("Posyandu balita besok pagi.", None),
        "approved": lambda t: t.approve("editor-1", activity(), NEUTRALITY),
        "published": lambda t: t.publish("https://instagram.com/p/abc", datetime.now(UTC)),
    }
    for step in ("assigned", "submitted", "approved", "published"):
        steps[step](task)
        if step == status:
            break
    return task


def test_the_whole_workflow_records_one_event_per_step():
    task = at("published")
    assert task.status == "published"
    assert [type(e).__name__ for e in task.pending] == [
        "TaskAssigned", "TaskSubmitted", "TaskApproved", "TaskPublished"]


def test_rejected_draft_is_submitted_again_and_approved():
    task = at("submitted")
    task.reject("editor-1", "Foto kurang jelas")
    assert task.status == "rejected"
    task.submit(None, "https://drive.example.go.id/draft-2")
    task.approve("editor-1", activity(), NEUTRALITY)
    assert task.status == "approved"


@pytest.mark.parametrize("status, action", [
    ("created", lambda t: t.submit("x", None)),
    ("created", lambda t: t.publish("https://kedirikota.go.id/x", datetime.now(UTC))),
    ("assigned", lambda t: t.approve("e", activity(), NEUTRALITY)),
    ("assigned", lambda t: t.reject("e", "no")),
    ("approved", lambda t: t.submit("again", None)),
    ("published", lambda t: t.cancel("too late")),
    ("published", lambda t: t.assign("writer-2")),
])
def test_illegal_transitions_name_the_current_state(status, action):
    task = at(status)
    with pytest.raises(InvalidState) as caught:
        action(task)
    assert caught.value.status == 409
    assert f"task is {status}" in caught.value.message


@pytest.mark.parametrize("status", ["created", "assigned", "submitted", "approved"])
def test_cancelled_from_any_open_state(status):
    task = at(status)
    task.cancel("Tidak jadi")
    assert task.status == "cancelled"
    with pytest.raises(InvalidState, match="task is cancelled"):
        task.assign("writer-2")


def test_cancelled_from_rejected():
    task = at("submitted")
    task.reject("editor-1", "Ulang")
    task.cancel("Tidak jadi")
    assert task.status == "cancelled"


def test_approval_needs_a_verified_activity():
    task = at("submitted")
    with pytest.raises(InvalidState, match="not verified") as caught:
        task.approve("editor-1", activity(verified=False), NEUTRALITY)
    assert caught.value.status == 409
    with pytest.raises(InvalidState, match="not verified"):
        task.approve("editor-1", None, NEUTRALITY)


def test_partisan_terms_block_approval_unless_overridden():
    task = new_task()
    task.assign("writer-1")
    task.submit("Wali Kota hadir. Jangan lupa coblos nomor urut 2!", None)
    with pytest.raises(DomainError) as caught:
        task.approve("editor-1", activity(), NEUTRALITY)
    assert caught.value.status == 422 and caught.value.field == "override_reason"
    assert "'coblos'" in caught.value.message and "'nomor urut 2'" in caught.value.message
    task.approve("editor-1", activity(), NEUTRALITY, override_reason="Kutipan berita KPU")
    approved = task.pending[-1]
    assert isinstance(approved, TaskApproved)
    assert approved.neutrality_override.reason == "Kutipan berita KPU"
    assert approved.neutrality_override.terms == ["coblos", "nomor urut 2"]


def test_no_override_is_recorded_for_a_clean_draft():
    task = at("approved")
    assert task.pending[-1].neutrality_override is None


def test_submit_needs_text_or_link():
    task = at("assigned")
    with pytest.raises(DomainError, match="draft_text or draft_url"):
        task.submit("   ", None)


def test_reassigning_to_the_same_person_records_nothing():
    task = at("assigned")
    before = len(task.pending)
    task.assign("writer-1")
    assert len(task.pending) == before
    task.assign("writer-2")
    assert task.assignee_id == "writer-2"


def test_reschedule_and_revise_record_only_changes():
    task = new_task()
    task.reschedule(task.due_at)
    task.revise(task.title, task.brief)
    assert task.pending == []
    task.reschedule(task.due_at + timedelta(days=1))
    assert task.pending[-1].previous_due_at == START - timedelta(days=1)


def test_commands_on_a_missing_task_are_not_found():
    with pytest.raises(NotFound):
        Task().assign("writer-1")


def test_a_task_is_created_once():
    task = new_task()
    with pytest.raises(InvalidState, match="already exists"):
        task.create(PlannedTask("t1", "r", "coverage", "website", "T", "", START), activity())
