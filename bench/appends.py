"""P1 and P2: appends through the event store against raw asyncpg inserts and the
`eventsourcing` library. Durable commits throughout (fsync and synchronous_commit
as the server is configured; nothing is turned off)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from urllib.parse import urlsplit

from shared import db
from shared.eventstore import EventStore, NewEvent

from .common import Row, alternate, fresh_database, rate

PAYLOAD = {"activity_id": "x", "unit_code": "kel_balowerti", "title": "Posyandu balita",
           "starts_at": "2030-01-01T08:00:00+07:00", "category": "pelayanan_publik"}
RAW_TABLE = """CREATE TABLE IF NOT EXISTS raw_events (
    position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, stream_id text NOT NULL,
    version integer NOT NULL, event_id uuid NOT NULL UNIQUE, type text NOT NULL,
    data jsonb NOT NULL, UNIQUE (stream_id, version))"""
RAW_INSERT = ("INSERT INTO raw_events (stream_id, version, event_id, type, data)"
              " VALUES ($1, 1, $2, 'activity.planned', $3)")


def _event() -> NewEvent:
    return NewEvent(type="activity.planned", data=PAYLOAD, metadata={"actor": "bench"})


async def _store_loop(store: EventStore, seconds: float) -> int:
    n, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        await store.append(f"activity-{uuid.uuid4()}", 0, [_event()])
        n += 1
    return n


async def _raw_loop(conn, seconds: float) -> int:
    n, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        await conn.execute(RAW_INSERT, f"activity-{uuid.uuid4()}", uuid.uuid4(), PAYLOAD)
        n += 1
    return n


def _eventsourcing_app(url: str):
    from eventsourcing.application import Application
    from eventsourcing.domain import Aggregate, event

    class Activity(Aggregate):
        @event("Planned")
        def __init__(self, title: str) -> None:
            self.title = title

    class Agenda(Application):
        pass

    parts = urlsplit(url)
    os.environ.update({
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parts.path.lstrip("/"), "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432), "POSTGRES_USER": parts.username or "postgres",
        "POSTGRES_PASSWORD": parts.password or "", "CREATE_TABLE": "y"})
    return Agenda(), Activity


def _eventsourcing_rate(app, activity_cls, seconds: float) -> float:
    n, started = 0, time.perf_counter()
    end = started + seconds
    while time.perf_counter() < end:
        app.save(activity_cls("Posyandu balita"))
        n += 1
    return n / (time.perf_counter() - started)


async def p1() -> Row:
    url = await fresh_database("simalik_bench_p1")
    await db.migrate(url)
    pool = await db.create_pool(url, max_size=2)
    store = EventStore(pool)
    raw = await db.connect(url)
    await raw.execute(RAW_TABLE)
    es_url = await fresh_database("simalik_bench_p1_es")
    app, activity_cls = _eventsourcing_app(es_url)
    try:
        subject, bases, ratios = await alternate(
            lambda: rate(lambda s: _store_loop(store, s)),
            {"raw_asyncpg": lambda: rate(lambda s: _raw_loop(raw, s)),
             "eventsourcing": lambda: asyncio.to_thread(
                 _eventsourcing_rate, app, activity_cls, 1.5)})
    finally:
        app.close() if hasattr(app, "close") else None
        await raw.close()
        await store.close()
        await pool.close()
    met = ratios["raw_asyncpg"]["median"] >= 0.75 and ratios["eventsourcing"]["median"] >= 3
    return Row("P1", "sequential appends, one client", subject, "appends/s", bases, ratios,
               "≥ 75 % of raw, ≥ 3× eventsourcing", met)


async def p2(clients: int = 32) -> Row:
    url = await fresh_database("simalik_bench_p2")
    await db.migrate(url)
    pool = await db.create_pool(url, max_size=4)
    store = EventStore(pool)
    raws = [await db.connect(url) for _ in range(clients)]
    await raws[0].execute(RAW_TABLE)

    async def subject(seconds: float) -> int:
        counts = await asyncio.gather(*(_store_loop(store, seconds) for _ in range(clients)))
        return sum(counts)

    async def raw(seconds: float) -> int:
        counts = await asyncio.gather(*(_raw_loop(c, seconds) for c in raws))
        return sum(counts)

    try:
        value, bases, ratios = await alternate(lambda: rate(subject), {"raw_32_clients":
                                                                       lambda: rate(raw)})
    finally:
        for c in raws:
            await c.close()
        await store.close()
        await pool.close()
    return Row("P2", f"appends from {clients} concurrent clients, one process (group commit)",
               value, "appends/s", bases, ratios, "≥ 2× raw",
               ratios["raw_32_clients"]["median"] >= 2)
