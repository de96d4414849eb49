"""Contract tests for the event store, run against every implementation: the real
store, and a deliberately naive one (no commit-order lock) that the race test must
catch — proof that the test can fail (DESIGN §3)."""

from __future__ import annotations

import asyncio

import pytest

from shared import db
from shared.eventstore import AppendCommand, ConcurrencyError, EventStore, NewEvent
from tests.conftest import wait_for

# The real append without its commit-order lock.
NAIVE_FUNCTION = """
CREATE OR REPLACE FUNCTION naive_append(batch jsonb, channel text) RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    RETURN simalik_append_all(batch, clock_timestamp(), true);
END;
$$;
"""


class NaiveEventStore(EventStore):
    """Appends without taking the commit-order lock: positions are handed out at
    insert time and transactions may commit out of that order."""

    append_sql = "SELECT naive_append($1::jsonb, $2)"


def ev(kind: str = "thing.happened", **data) -> NewEvent:
    return NewEvent(type=kind, data=data or {"n": 1}, metadata={"actor": "test"})


@pytest.fixture
async def pool(databases):
    url = await databases.fresh("eventstore", lambda s: db.migrate(s.database_url))
    pool = await db.create_pool(url, max_size=8)
    await pool.execute(NAIVE_FUNCTION)
    yield pool
    pool.terminate()  # stores made by the tests keep their writer's connection


@pytest.fixture(params=["real", "naive"])
def store(request, pool):
    return (EventStore if request.param == "real" else NaiveEventStore)(pool)


@pytest.fixture
def real_store(pool):
    return EventStore(pool)


# -- the contract every store meets ---------------------------------------------------

async def test_append_then_read_stream(store):
    result = await store.append("s-1", 0, [ev(n=1), ev(n=2)])
    assert result.version == 2
    assert [e.version for e in result.events] == [1, 2]
    events = await store.read_stream("s-1")
    assert [e.data["n"] for e in events] == [1, 2]
    assert events[0].position < events[1].position
    assert events[0].metadata["actor"] == "test"


async def test_wrong_expected_version_is_a_conflict(store):
    await store.append("s-2", 0, [ev()])
    for expected in (0, 2, 5):
        with pytest.raises(ConcurrencyError) as info:
            await store.append("s-2", expected, [ev()])
        assert info.value.actual == 1
    assert len(await store.read_stream("s-2")) == 1


async def test_reappending_a_stored_event_id_is_a_no_op(store):
    event = ev(n=7)
    await store.append("s-3", 0, [event])
    again = await store.append("s-3", 0, [event])
    assert again.duplicate
    assert len(await store.read_stream("s-3")) == 1
    assert await store.head() == 1


async def test_read_after_pages_in_position_order(store):
    for i in range(25):
        await store.append(f"p-{i % 3}", i // 3, [ev(n=i)])
    seen, after = [], 0
    while page := await store.read_after(after, limit=10):
        seen += [e.data["n"] for e in page]
        after = page[-1].position
    assert seen == list(range(25))


async def test_unicode_and_json_round_trip(store):
    data = {"title": "ꦏꦼꦢꦶꦫꦶ 🎉 \"kutip\" \\ garis", "nested": {"list": [1, 2.5, None, True]}}
    await store.append("u-1", 0, [NewEvent(type="t", data=data)])
    assert (await store.read_stream("u-1"))[0].data == data


async def test_one_conflict_in_a_batch_fails_only_its_own_command(store):
    await store.append("b-0", 0, [ev()])
    results = await asyncio.gather(
        store.append("b-1", 0, [ev()]),
        store.append("b-0", 0, [ev()]),  # stale
        store.append("b-2", 0, [ev()]),
        return_exceptions=True)
    assert isinstance(results[1], ConcurrencyError)
    assert results[0].version == 1 and results[2].version == 1


# -- the global-order trap (DESIGN §3) -------------------------------------------------

async def follower_misses(store: EventStore) -> list[str]:
    """The scripted race: A appends and stays open, B commits, the follower reads,
    A commits, the follower reads again. Returns what the follower never saw."""
    conn_a = await store.pool.acquire()
    try:
        tx = conn_a.transaction()
        await tx.start()
        await store.append_in(conn_a, [AppendCommand("race-a", 0, [ev(n="A")])])
        b = asyncio.create_task(store.append("race-b", 0, [ev(n="B")]))
        # B either commits (naive) or waits for A's lock (real); wait for one of them.
        await wait_for(lambda: b.done() or _waiting_on_lock(store), what="B to commit or wait")
        checkpoint, seen = 0, []
        for e in await store.read_after(checkpoint):
            seen.append(e.data["n"])
            checkpoint = e.position
        await tx.commit()
        await b
    finally:
        await store.pool.release(conn_a)
    for e in await store.read_after(checkpoint):
        seen.append(e.data["n"])
    return sorted({"A", "B"} - set(seen))


async def _waiting_on_lock(store: EventStore) -> bool:
    return bool(await store.pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        " AND datname = current_database()"))


async def test_follower_never_misses_an_event_committed_late(real_store):
    assert await follower_misses(real_store) == []


async def test_the_race_test_catches_a_naive_store(pool):
    assert await follower_misses(NaiveEventStore(pool)) == ["A"]


# -- group commit ------------------------------------------------------------------------

async def test_concurrent_appends_commit_together_with_one_notify_per_batch(real_store, pool):
    notes: list[str] = []
    listener = await db.connect(_dsn(pool))
    await listener.add_listener("simalik_events", lambda *args: notes.append(args[3]))
    try:
        results = await asyncio.gather(*(real_store.append(f"g-{i}", 0, [ev(n=i)])
                                          for i in range(64)))
        assert sorted(r.events[0].position for r in results) == list(range(1, 65))
        await wait_for(lambda: notes, what="a notification")
        await asyncio.sleep(0)  # let queued notifications arrive
        # 64 commands, far fewer commits: the writer batches what is waiting.
        assert 1 <= len(notes) < 16, len(notes)
    finally:
        await listener.close()


def _dsn(pool) -> str:
    return pool._connect_args[0]


async def test_commit_order_equals_position_order_across_processes(pool):
    """Two stores (as two processes would have) appending at once: positions stay
    ordered by commit, so every page a follower reads is final."""
    other_pool = await db.create_pool(_dsn(pool), max_size=4)
    try:
        stores = [EventStore(pool), EventStore(other_pool)]
        await asyncio.gather(*(stores[i % 2].append(f"x-{i}", 0, [ev(n=i)]) for i in range(40)))
        rows = await pool.fetch("SELECT position, xmin::text::bigint AS tx FROM events"
                                " ORDER BY position")
        txs = [r["tx"] for r in rows]
        assert txs == sorted(txs), "a later position was committed by an earlier transaction"
    finally:
        other_pool.terminate()



async def test_a_large_batch_keeps_per_command_outcomes(store):
    """Batches of eight or more distinct streams take the set-based path; its
    conflicts, duplicates and idempotency replays must match the per-command path."""
    from shared.eventstore import Idempotency, IdempotentReplay

    stored = ev(n="stored")
    await store.append("big-dup", 0, [stored])
    await store.append("big-stale", 0, [ev()])
    await store.append("big-key", 0, [ev()], Idempotency("key-used", "h", 201, {"id": "x"}))
    calls = [store.append(f"big-{i}", 0, [ev(n=i), ev(n=i)],
                          Idempotency(f"key-{i}", "h", 201, {"id": i})) for i in range(10)]
    calls += [store.append("big-dup", 0, [stored]),
              store.append("big-stale", 0, [ev()]),
              store.append("big-new", 0, [ev()], Idempotency("key-used", "h", 201, {}))]
    results = await asyncio.gather(*calls, return_exceptions=True)
    fresh, (dup, stale, replay) = results[:10], results[10:]
    assert [r.version for r in fresh] == [2] * 10
    positions = [p for r in fresh for p in (e.position for e in r.events)]
    assert positions == sorted(positions) and len(set(positions)) == 20
    assert dup.duplicate
    assert isinstance(stale, ConcurrencyError) and stale.actual == 1
    assert isinstance(replay, IdempotentReplay)
    assert await store.read_stream("big-new") == []
    for i in range(10):
        assert [e.version for e in await store.read_stream(f"big-{i}")] == [1, 2]
