"""The newsroom's read models. `project` keeps tasks_view in step with the task
events, inside the transaction that appends them (group commit for the API, the
inbox's transaction for the consumer). `save_activity` writes the newsroom's own
record of an activity, inside the inbox's transaction."""

from __future__ import annotations

from typing import Any

import asyncpg

from shared.contracts.envelope import StoredEvent
from shared.contracts.newsroom import NEWSROOM_EVENTS

from .domain import ActivityFacts


async def project(conn: asyncpg.Connection, events: list[StoredEvent]) -> None:
    for stored in events:
        event = NEWSROOM_EVENTS.load(stored.type, stored.schema_version, stored.data)
        if stored.type == "task.created":
            await conn.execute(
                "INSERT INTO tasks_view (task_id, activity_id, unit_code, kind, channel, rule_id,"
                " public, title, brief, due_at, status, version, created_at, updated_at)"
                " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,'created',$11,$12,$12)",
                event.task_id, event.activity_id, event.unit_code, event.kind, event.channel,
                event.rule_id, event.public, event.title, event.brief, event.due_at,
                stored.version, stored.recorded_at)
            continue
        changes = _CHANGES[stored.type](event)
        sets = "".join(f", {col} = ${i}" for i, col in enumerate(changes, start=4))
        await conn.execute(
            f"UPDATE tasks_view SET version = $2, updated_at = $3{sets} WHERE task_id = $1",
            event.task_id, stored.version, stored.recorded_at, *changes.values())


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


_CHANGES = {
    "task.assigned": lambda e: {"status": "assigned", "assignee_id": e.assignee_id},
    "task.submitted": lambda e: {"status": "submitted", "draft_text": e.draft_text,
                                 "draft_url": _str(e.draft_url), "reject_reason": None},
    "task.approved": lambda e: {"status": "approved", "reviewer_id": e.reviewer_id,
                                "neutrality_override": None if e.neutrality_override is None
                                else e.neutrality_override.model_dump(mode="json")},
    "task.rejected": lambda e: {"status": "rejected", "reviewer_id": e.reviewer_id,
                                "reject_reason": e.reason},
    "task.published": lambda e: {"status": "published", "published_url": str(e.url),
                                 "published_at": e.published_at},
    "task.cancelled": lambda e: {"status": "cancelled", "cancel_reason": e.reason},
    "task.rescheduled": lambda e: {"due_at": e.due_at},
    "task.revised": lambda e: {"title": e.title, "brief": e.brief},
}


async def save_activity(conn: asyncpg.Connection, facts: ActivityFacts, recorded_at) -> None:
    await conn.execute(
        "INSERT INTO activities (activity_id, unit_code, title, description, location, category,"
        " visibility, leaders, starts_at, ends_at, status, verified, version, updated_at)"
        " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)"
        " ON CONFLICT (activity_id) DO UPDATE SET unit_code = $2, title = $3, description = $4,"
        " location = $5, category = $6, visibility = $7, leaders = $8, starts_at = $9,"
        " ends_at = $10, status = $11, verified = $12, version = $13, updated_at = $14",
        facts.activity_id, facts.unit_code, facts.title, facts.description, facts.location,
        facts.category, facts.visibility, list(facts.leaders), facts.starts_at, facts.ends_at,
        facts.status, facts.verified, facts.version, recorded_at)


async def load_activity(conn: asyncpg.Connection | asyncpg.Pool, activity_id: str
                        ) -> ActivityFacts | None:
    row = await conn.fetchrow("SELECT * FROM activities WHERE activity_id = $1", activity_id)
    if row is None:
        return None
    return ActivityFacts(
        activity_id=row["activity_id"], unit_code=row["unit_code"], title=row["title"],
        description=row["description"], location=row["location"], category=row["category"],
        visibility=row["visibility"], leaders=tuple(row["leaders"]), starts_at=row["starts_at"],
        ends_at=row["ends_at"], status=row["status"], verified=row["verified"],
        version=row["version"])
