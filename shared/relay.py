"""The relay: the event store is the outbox (DESIGN §4).

Reads the store in position order and publishes each event as a CloudEvent with
publisher confirms (a window in flight), persistent delivery and `mandatory`. The
checkpoint moves only forward and only after the confirms, so a crash between the
two publishes the same events again, with the same ids. One active relay per
service: a session advisory lock on a dedicated connection (a pooled one would
lose it when returned to the pool)."""

from __future__ import annotations

import asyncio
import contextlib

import aio_pika
import asyncpg
from aio_pika.abc import AbstractIncomingMessage
from prometheus_client import Counter, Gauge

from . import db, faults
from .contracts.envelope import CONTENT_TYPE, StoredEvent, encode, to_cloudevent
from .eventstore import NOTIFY_CHANNEL, EventStore, read_after_raw
from .logging import get_logger
from .settings import Settings
from .topology import declare_exchange

RELAY_LOCK = 7134002
log = get_logger("relay")

PUBLISHED = Counter("simalik_relay_published_total", "Events published and confirmed", ["service"])
RETURNED = Counter("simalik_relay_returned_total", "Messages returned as unroutable", ["service"])
LAG = Gauge("simalik_relay_lag_events", "Head position minus relay checkpoint", ["service"])
CHECKPOINT = Gauge("simalik_relay_checkpoint", "Relay checkpoint position", ["service"])


class Relay:
    def __init__(self, settings: Settings, name: str = "relay") -> None:
        self.settings = settings
        self.name = name
        self.service = settings.service
        self._wake = asyncio.Event()
        self.active = asyncio.Event()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        conn = await db.connect(self.settings.database_url)
        try:
            await self._become_active(conn, stop)
            if stop.is_set():
                return
            await conn.add_listener(NOTIFY_CHANNEL, lambda *_: self._wake.set())
            amqp = await aio_pika.connect_robust(self.settings.amqp_url)
            async with amqp:
                channel = await amqp.channel(publisher_confirms=True, on_return_raises=False)
                channel.return_callbacks.add(self._on_return)
                exchange = await declare_exchange(channel, self.settings)
                self.active.set()
                log.info("relay active", exchange=exchange.name)
                await self._loop(conn, exchange, stop)
        finally:
            with contextlib.suppress(Exception):
                await conn.close()

    async def _become_active(self, conn: asyncpg.Connection, stop: asyncio.Event) -> None:
        logged = False
        while not stop.is_set():
            if await conn.fetchval("SELECT pg_try_advisory_lock($1)", RELAY_LOCK):
                return
            if not logged:
                log.info("another relay is active; standing by")
                logged = True
            await _wait(stop, self.settings.relay_poll_seconds)

    async def _loop(self, conn: asyncpg.Connection, exchange, stop: asyncio.Event) -> None:
        epoch = await conn.fetchval("SELECT epoch FROM store_meta")
        checkpoint = await self._load_checkpoint(conn, epoch)
        while not stop.is_set():
            self._wake.clear()
            events = await read_after_raw(conn, checkpoint, self.settings.relay_window)
            if not events:
                LAG.labels(self.service).set(0)
                await _wait_any(stop, self._wake, self.settings.relay_poll_seconds)
                continue
            await self._publish(exchange, events, epoch)
            faults.point("relay.after_confirm", self.settings.fault)
            checkpoint = events[-1].position
            await conn.execute(
                "UPDATE relay_checkpoints SET position = $2, updated_at = now() "
                "WHERE name = $1 AND position < $2", self.name, checkpoint)
            faults.point("relay.after_checkpoint", self.settings.fault)
            PUBLISHED.labels(self.service).inc(len(events))
            CHECKPOINT.labels(self.service).set(checkpoint)
            head = await conn.fetchval("SELECT coalesce(max(position), 0) FROM events")
            LAG.labels(self.service).set(head - checkpoint)

    async def _load_checkpoint(self, conn: asyncpg.Connection, epoch) -> int:
        await conn.execute(
            "INSERT INTO relay_checkpoints (name, position, epoch) VALUES ($1, 0, $2) "
            "ON CONFLICT (name) DO NOTHING", self.name, epoch)
        row = await conn.fetchrow(
            "SELECT position, epoch FROM relay_checkpoints WHERE name = $1", self.name)
        if row["epoch"] != epoch:
            # A restored store: positions of the old epoch mean nothing here.
            log.warning("store epoch changed; relay starts from the beginning",
                        old=str(row["epoch"]), new=str(epoch))
            await conn.execute(
                "UPDATE relay_checkpoints SET position = 0, epoch = $2 WHERE name = $1",
                self.name, epoch)
            return 0
        return row["position"]

    async def _publish(self, exchange, events: list[StoredEvent], epoch) -> None:
        # All of the page in flight at once; the confirms arrive pipelined.
        await asyncio.gather(*(exchange.publish(self._message(e, epoch), routing_key=e.type,
                                                mandatory=True) for e in events))
        last = events[-1]
        log.info("published", count=len(events), position=last.position,
                 correlation_id=last.metadata.get("correlation_id"),
                 causation_id=last.metadata.get("causation_id"), event_id=str(last.event_id))

    def _message(self, event: StoredEvent, epoch) -> aio_pika.Message:
        ce = to_cloudevent(event, self.service, epoch)
        return aio_pika.Message(
            body=encode(ce),
            content_type=CONTENT_TYPE,
            message_id=ce["id"],
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            timestamp=event.recorded_at,
            type=ce["type"],
            # AMQP short strings hold 255 bytes; an event must never stop the relay.
            correlation_id=str(event.metadata.get("correlation_id") or "")[:128] or None,
            headers={"subject": event.stream_id, "unit": event.metadata.get("unit") or ""},
        )

    def _on_return(self, _channel, message: AbstractIncomingMessage) -> None:
        # Only reachable if the alternate exchange is missing: counted and logged,
        # never republished (DESIGN §4).
        RETURNED.labels(self.service).inc()
        log.warning("message returned as unroutable", message_id=message.message_id,
                    routing_key=message.routing_key)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def _wait_any(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


__all__ = ["Relay", "EventStore"]
