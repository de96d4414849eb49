"""The newsroom's consumer on the real broker and database: duplicates, order
across two instances, the DLQ and retries (DESIGN §5)."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from shared.consumer import OrderedInbox, dlq_list
from shared.contracts.agenda import AGENDA_EVENTS
from shared.contracts.types import WIB
from tests.conftest import wait_for
from tests.integration.conftest import publish_to_queue, queue_state
from tests.unit.newsroom.factories import AgendaStream

ROOT = Path(__file__).resolve().parents[2]
PLANNED_TASKS = 8  # a public activity the Wali Kota attends (rules.yaml)


def outcomes(settings, outcome: str) -> float:
    return REGISTRY.get_sample_value("simalik_consumer_events_total", {
        "service": "newsroom", "queue": settings.queue("agenda"), "outcome": outcome}) or 0


async def task_count(pool, activity_id: str) -> int:
    return await pool.fetchval("SELECT count(*) FROM tasks_view WHERE activity_id = $1",
                               activity_id)


async def test_duplicate_delivery_makes_no_duplicate_task(newsroom, newsroom_consumers):
    await newsroom_consumers(prefetch=4)
    stream = AgendaStream()
    planned = stream.planned()
    for _ in range(2):
        await publish_to_queue(newsroom.settings, planned, message_id=planned["id"])

    await wait_for(lambda: outcomes(newsroom.settings, "duplicate") >= 1, 10,
                   what="the second delivery to be dropped")
    await wait_for(lambda: outcomes(newsroom.settings, "applied") >= 1, 10)
    pool = newsroom.pool
    assert await task_count(pool, stream.activity_id) == PLANNED_TASKS
    assert await pool.fetchval("SELECT count(*) FROM events") == PLANNED_TASKS
    assert await pool.fetchval("SELECT count(*) FROM inbox") == 1


async def _others_wait_on_a_lock(pool) -> bool:
    return await pool.fetchval(
        "SELECT count(*) > 0 FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")


@pytest.mark.parametrize("scenario", ["v2-held-first", "v2-waits-for-v1-commit"])
async def test_two_instances_apply_v2_published_before_v1(newsroom, newsroom_consumers,
                                                          scenario):
    settings = newsroom.settings
    stream = AgendaStream()
    v1 = stream.planned()
    v2 = stream.rescheduled(timedelta(days=1))
    seen: dict[str, str] = {}
    v1_in_transaction = asyncio.Event()
    lock_waits: list[bool] = []

    # Gates order the two instances deterministically: with prefetch 1 each, v2
    # (published first) goes to one instance and v1 to the other.
    async def v2_is_held() -> None:
        await wait_for(lambda: seen.get(v2["id"]) == "held", 10, what="v2 to be held")

    gates = {v1["id"]: v2_is_held} if scenario == "v2-held-first" else \
        {v2["id"]: v1_in_transaction.wait}

    class GatedInbox(OrderedInbox):
        async def handle(self, ce):
            if ce.id in gates:
                await gates[ce.id]()
            seen[ce.id] = outcome = await super().handle(ce)
            return outcome

    async def barrier(ce) -> None:
        # Inside v1's transaction, after applying, before commit.
        if ce.id == v1["id"] and scenario == "v2-waits-for-v1-commit":
            v1_in_transaction.set()
            lock_waits.append(await wait_for(lambda: _others_wait_on_a_lock(newsroom.pool), 10,
                                             what="v2's transaction to wait on v1's lock"))

    def make_inbox(service):
        inbox = GatedInbox(service.pool, AGENDA_EVENTS, service.follow_agenda)
        inbox.before_commit = barrier
        return inbox

    await newsroom_consumers(prefetch=1, make_inbox=make_inbox)
    await newsroom_consumers(prefetch=1, make_inbox=make_inbox)
    assert (await queue_state(settings, "agenda"))[1] == 2
    await publish_to_queue(settings, v2, message_id=v2["id"])
    await publish_to_queue(settings, v1, message_id=v1["id"])

    await wait_for(lambda: len(seen) == 2, 15, what="both events to be handled")
    if scenario == "v2-held-first":
        assert seen == {v2["id"]: "held", v1["id"]: "applied"}
    else:
        assert seen == {v1["id"]: "applied", v2["id"]: "applied"} and lock_waits == [True]

    pool = newsroom.pool
    rows = await pool.fetch("SELECT rule_id, due_at, version FROM tasks_view"
                            " WHERE activity_id = $1", stream.activity_id)
    due = {r["rule_id"]: r["due_at"].astimezone(WIB) for r in rows}
    assert len(rows) == PLANNED_TASKS and {r["version"] for r in rows} == {2}
    assert due["public-teaser-instagram"] == datetime(2030, 3, 2, 9, 0, tzinfo=WIB)
    assert due["public-recap-instagram"] == datetime(2030, 3, 3, 17, 0, tzinfo=WIB)
    assert await pool.fetchval("SELECT starts_at FROM activities") == stream.starts_at
    assert await pool.fetchval("SELECT last_sequence FROM stream_state") == 2
    assert await pool.fetchval("SELECT count(*) FROM held_events") == 0
    assert await pool.fetchval("SELECT count(*) FROM message_errors") == 0
    assert (await queue_state(settings, "dlq"))[0] == 0


async def _cli(settings, *args: str) -> str:
    env = {**os.environ, "NEWSROOM_DATABASE_URL": settings.database_url,
           "AMQP_URL": settings.amqp_url, "SIMALIK_PREFIX": settings.name_prefix,
           "LOG_LEVEL": "WARNING", "COLUMNS": "300"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.newsroom", *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def test_malformed_messages_go_to_the_dlq_with_their_error_and_good_ones_flow(
        newsroom, newsroom_consumers):
    settings = newsroom.settings
    await newsroom_consumers()
    unknown = AgendaStream().planned() | {"type": "simalik.agenda.activity.planned.v9"}
    bad_data = AgendaStream().planned()
    bad_data["data"] = {**bad_data["data"], "starts_at": "besok pagi"}
    orphan = AgendaStream()
    orphan.version = 0
    never_planned = orphan.verified()  # sequence 1 of a stream that was never planned
    good = AgendaStream()
    good_planned = good.planned()

    await publish_to_queue(settings, b"{not json", message_id="bad-json")
    await publish_to_queue(settings, unknown, message_id=unknown["id"])
    await publish_to_queue(settings, bad_data, message_id=bad_data["id"])
    await publish_to_queue(settings, never_planned, message_id=never_planned["id"])
    await publish_to_queue(settings, good_planned, message_id=good_planned["id"])

    pool = newsroom.pool
    await wait_for(lambda: task_count(pool, good.activity_id), 10, what="the good message")
    await wait_for(lambda: _dlq_depth(settings, 4), 10, what="four messages in the DLQ")
    errors = {r["message_id"]: r for r in await pool.fetch("SELECT * FROM message_errors")}
    assert all(r["permanent"] and r["queue"] == settings.queue("agenda")
               for r in errors.values())
    assert errors["bad-json"]["error"].startswith("not a valid CloudEvent")
    assert errors[unknown["id"]]["error"] == \
        "unknown event type simalik.agenda.activity.planned.v9"
    assert "starts_at" in errors[bad_data["id"]]["error"]
    assert "never saw planned" in errors[never_planned["id"]]["error"]
    assert await task_count(pool, good.activity_id) == PLANNED_TASKS

    listed = {m["message_id"]: m for m in await dlq_list(pool, settings.amqp_url, settings)}
    assert listed.keys() == errors.keys() and listed["bad-json"]["reason"] == "rejected"

    table = await _cli(settings, "dlq", "list")
    assert "ID pesan" in table and "Galat tercatat" in table and "bad-json" in table
    assert "ditolak (galat permanen)" in table and "never saw planned" in table

    # Redriven, they are rejected again (nothing changed): back in the DLQ, with
    # the second attempt counted.
    assert "4 pesan dikirim kembali" in await _cli(settings, "dlq", "redrive")
    await wait_for(lambda: pool.fetchval(
        "SELECT count(*) = 4 FROM message_errors WHERE attempts = 2"), 10)
    await wait_for(lambda: _dlq_depth(settings, 4), 10)


async def _dlq_depth(settings, expected: int) -> bool:
    return (await queue_state(settings, "dlq"))[0] == expected


async def test_transient_errors_are_retried_with_backoff_then_applied(newsroom,
                                                                     newsroom_consumers):
    failures = {"left": 2}

    def make_inbox(service):
        async def flaky(conn, ce):
            if failures["left"]:
                failures["left"] -= 1
                raise ConnectionResetError("database connection lost (injected)")
            await service.follow_agenda(conn, ce)
        return OrderedInbox(service.pool, AGENDA_EVENTS, flaky)

    await newsroom_consumers(make_inbox=make_inbox)
    stream = AgendaStream()
    planned = stream.planned()
    await publish_to_queue(newsroom.settings, planned, message_id=planned["id"])

    pool = newsroom.pool
    await wait_for(lambda: task_count(pool, stream.activity_id), 10)
    row = await pool.fetchrow("SELECT * FROM message_errors WHERE message_id = $1", planned["id"])
    assert row["attempts"] == 2 and not row["permanent"]
    assert "ConnectionResetError" in row["error"]
    assert outcomes(newsroom.settings, "retried") == 2
    assert (await queue_state(newsroom.settings, "dlq"))[0] == 0
    # Nothing of the failed attempts stayed behind: one inbox row, one set of tasks.
    assert await pool.fetchval("SELECT count(*) FROM inbox") == 1
    assert await task_count(pool, stream.activity_id) == PLANNED_TASKS




async def test_an_editor_and_the_consumer_racing_on_a_task_settle_by_retry(
        newsroom, newsroom_client, newsroom_consumers, monkeypatch):
    """The consumer reads the teaser as approved; the editor publishes it before
    the consumer appends the cancellation. The consumer's append conflicts, its
    transaction rolls back, and the retried message sees the published teaser:
    a correction instead of a cancellation."""
    from services.newsroom import handlers

    settings = newsroom.settings
    await newsroom_consumers()
    stream = AgendaStream()
    for ce in (stream.planned(), stream.verified()):
        await publish_to_queue(settings, ce, message_id=ce["id"])
    await wait_for(lambda: newsroom.pool.fetchval("SELECT verified FROM activities"), 10)
    teaser = (await newsroom_client.get("/v1/tasks", params={
        "activity_id": stream.activity_id, "channel": "instagram",
        "kind": "social_teaser"})).json()["tasks"][0]
    url = f"/v1/tasks/{teaser['id']}"
    for verb, body in (("assign", {"assignee_id": "writer-1"}), ("submit", {"draft_text": "x"}),
                       ("approve", {})):
        r = await newsroom_client.post(f"{url}/{verb}", json={
            "expected_version": (await newsroom_client.get(url)).json()["version"], **body})
        assert r.status_code == 200, r.text

    loaded, published = asyncio.Event(), asyncio.Event()
    real = handlers._activity_tasks

    async def slow_first_read(conn, activity_id):
        tasks = await real(conn, activity_id)
        if not loaded.is_set():
            loaded.set()
            await published.wait()
        return tasks

    monkeypatch.setattr(handlers, "_activity_tasks", slow_first_read)
    cancelled = stream.cancelled("Hujan deras")
    await publish_to_queue(settings, cancelled, message_id=cancelled["id"])
    await asyncio.wait_for(loaded.wait(), 10)
    r = await newsroom_client.post(f"{url}/publish", json={
        "expected_version": 4, "url": "https://www.instagram.com/p/kediri1"})
    assert r.status_code == 200, r.text
    published.set()

    pool = newsroom.pool
    await wait_for(lambda: pool.fetchval(
        "SELECT count(*) FROM tasks_view WHERE kind = 'correction'"), 10,
        what="the retried cancellation to add a correction")
    statuses = dict(await pool.fetch("SELECT rule_id, status FROM tasks_view"))
    assert statuses.pop("public-teaser-instagram") == "published"
    assert statuses.pop("correction-instagram") == "created"
    assert set(statuses.values()) == {"cancelled"}
    error = await pool.fetchrow("SELECT * FROM message_errors WHERE message_id = $1",
                                cancelled["id"])
    assert error["error"].startswith("ConcurrencyError") and not error["permanent"]
    assert (await queue_state(settings, "dlq"))[0] == 0
