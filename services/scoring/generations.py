"""Generations of the projection, and the swap that makes a rebuilt one current.

Every projection row carries its generation. The live consumer writes the
current one; a rebuild fills a 'building' one beside it (the shadow), so the
reports keep answering from the current one. The swap is one transaction that
moves the pointer, records the rebuilt position of each source (the cut-off:
live events at or below it are dropped, DESIGN §7) and hands the inbox the
rebuilt sequence of every stream. A pointer instead of renamed tables: no DDL
under running queries, and a reader pinned to a generation in a
repeatable-read transaction sees a consistent whole.

The consumers take SWAP_LOCK shared in each event's transaction, the swap takes
it exclusively: while the swap holds it no event is being applied, so the last
page read under it holds every event a consumer has seen.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import asyncpg

from shared.contracts.envelope import CloudEvent

from . import projections

SWAP_LOCK = 7134300
REBUILD_LOCK = 7134301


@dataclass(frozen=True, slots=True)
class Generation:
    generation: int
    status: str
    policy_version: str
    policy_yaml: str


@dataclass(frozen=True, slots=True)
class Position:
    epoch: str
    position: int


async def ensure_current(conn: asyncpg.Connection | asyncpg.Pool, policy_version: str,
                         policy_yaml: str) -> None:
    """A fresh database starts with generation 1 current, fed by the live consumer."""
    await conn.execute(
        "INSERT INTO generations (status, policy_version, policy_yaml)"
        " SELECT 'current', $1, $2 WHERE NOT EXISTS"
        " (SELECT 1 FROM generations WHERE status = 'current') ON CONFLICT DO NOTHING",
        policy_version, policy_yaml)


async def current(conn: asyncpg.Connection | asyncpg.Pool) -> Generation:
    row = await conn.fetchrow("SELECT * FROM generations WHERE status = 'current'")
    if row is None:
        raise RuntimeError("no current generation: run `python -m services.scoring migrate`")
    return _generation(row)


async def current_id(conn: asyncpg.Connection) -> int:
    return await conn.fetchval("SELECT generation FROM generations WHERE status = 'current'")


async def building(conn: asyncpg.Connection | asyncpg.Pool) -> Generation | None:
    row = await conn.fetchrow("SELECT * FROM generations WHERE status = 'building'")
    return _generation(row) if row else None


def _generation(row: asyncpg.Record) -> Generation:
    return Generation(row["generation"], row["status"], row["policy_version"],
                      row["policy_yaml"])


async def start(conn: asyncpg.Connection, policy_version: str, policy_yaml: str) -> Generation:
    row = await conn.fetchrow(
        "INSERT INTO generations (status, policy_version, policy_yaml)"
        " VALUES ('building', $1, $2) RETURNING *", policy_version, policy_yaml)
    return _generation(row)


async def abandon(conn: asyncpg.Connection, generation: int) -> None:
    async with conn.transaction():
        await projections.clear(conn, generation)
        await conn.execute("DELETE FROM generations WHERE generation = $1 AND status = 'building'",
                           generation)


async def positions(conn: asyncpg.Connection | asyncpg.Pool, generation: int
                    ) -> dict[str, Position]:
    rows = await conn.fetch("SELECT source, epoch, position FROM feed_positions"
                            " WHERE generation = $1", generation)
    return {r["source"]: Position(r["epoch"], r["position"]) for r in rows}


async def checkpoint(conn: asyncpg.Connection, generation: int, source: str, epoch: str,
                     position: int) -> None:
    await conn.execute(
        "INSERT INTO feed_positions (generation, source, epoch, position) VALUES ($1,$2,$3,$4)"
        " ON CONFLICT (generation, source) DO UPDATE SET epoch = $3, position = $4",
        generation, source, epoch, position)


async def track_streams(conn: asyncpg.Connection, generation: int, source: str,
                        events: Iterable[CloudEvent]) -> None:
    last: dict[str, int] = {}
    for ce in events:
        last[ce.subject] = max(last.get(ce.subject, 0), ce.stream_version)
    if last:
        await conn.copy_records_to_table(
            "rebuild_streams", columns=("generation", "source", "stream_id", "last_sequence"),
            records=[(generation, source, stream, n) for stream, n in last.items()])


async def reset_source(conn: asyncpg.Connection, generation: int, source: str) -> None:
    """A source's store was restored (new epoch): its part of the shadow starts over."""
    async with conn.transaction():
        await projections.clear(conn, generation, source)
        await conn.execute("DELETE FROM rebuild_streams WHERE generation = $1 AND source = $2",
                           generation, source)
        await conn.execute("DELETE FROM feed_positions WHERE generation = $1 AND source = $2",
                           generation, source)


async def lock_out_consumers(conn: asyncpg.Connection) -> None:
    """Inside the swap transaction: waits for events being applied, holds off new ones."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", SWAP_LOCK)


async def swap(conn: asyncpg.Connection, generation: int, sources: Iterable[str]) -> None:
    """Inside the transaction holding `lock_out_consumers`: make `generation` current.

    Every event a consumer has applied or held is at or below the rebuilt
    positions, so the held ones are covered and the rebuilt sequence of each
    stream is where the inbox continues."""
    sources = list(sources)
    await conn.execute("DELETE FROM held_events WHERE source = ANY($1::text[])", sources)
    await conn.execute("DELETE FROM stream_state WHERE source = ANY($1::text[])", sources)
    await conn.execute(
        "INSERT INTO stream_state (source, stream_id, last_sequence)"
        " SELECT source, stream_id, max(last_sequence) FROM rebuild_streams"
        " WHERE generation = $1 GROUP BY source, stream_id", generation)
    await conn.execute("UPDATE generations SET status = 'retired' WHERE status = 'current'")
    await conn.execute("UPDATE generations SET status = 'current', swapped_at = now()"
                       " WHERE generation = $1", generation)


async def drop_retired(pool: asyncpg.Pool) -> list[int]:
    """After a swap: the old generations' rows go; their generations row stays as a record."""
    retired = [r["generation"] for r in await pool.fetch(
        "SELECT generation FROM generations WHERE status = 'retired'")]
    async with pool.acquire() as conn:
        for generation in retired:
            async with conn.transaction():
                await projections.clear(conn, generation)
                await conn.execute("DELETE FROM rebuild_streams WHERE generation = $1",
                                   generation)
        current_gen = await current_id(conn)
        await conn.execute("DELETE FROM rebuild_streams WHERE generation = $1", current_gen)
    return retired


async def skip_covered(conn: asyncpg.Connection, ce: CloudEvent) -> bool:
    """The inbox's skip hook: drops an event the current generation's rebuild
    already holds (same store epoch, position at or below the cut-off)."""
    await conn.execute("SELECT pg_advisory_xact_lock_shared($1)", SWAP_LOCK)
    row = await conn.fetchrow(
        "SELECT f.epoch, f.position FROM feed_positions f JOIN generations g USING (generation)"
        " WHERE g.status = 'current' AND f.source = $1", ce.source)
    return row is not None and row["epoch"] == ce.epoch and ce.position <= row["position"]
