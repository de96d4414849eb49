"""Consuming another service's events: inbox, order without requeue, retries and
the DLQ (DESIGN §5).

`OrderedInbox.handle` runs one event in one transaction: drop it if its id is in
the inbox; lock the stream's row; apply it if it is the next sequence (then any
held successors), hold it if it is early, drop it if it is old. `subscribe` wires
that to a FastStream subscriber with manual ack after the commit."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from faststream.middlewares import AckPolicy
from faststream.rabbit import Channel, QueueType, RabbitBroker, RabbitExchange, RabbitQueue
from faststream.rabbit.annotations import RabbitMessage
from prometheus_client import Counter, Gauge
from pydantic import ValidationError

from .contracts.base import Registry
from .contracts.envelope import CloudEvent, decode
from .groupcommit import GroupCommit
from .logging import bound_contextvars, get_logger
from .settings import Settings
from .topology import consumer_queue_arguments

log = get_logger("consumer")

Apply = Callable[[asyncpg.Connection, CloudEvent], Awaitable[None]]
MAX_BATCH = 64

OUTCOMES = Counter("simalik_consumer_events_total", "Events consumed, by outcome",
                   ["service", "queue", "outcome"])
HELD = Gauge("simalik_held_events", "Events held waiting for a predecessor", ["service"])
HELD_AGE = Gauge("simalik_held_oldest_seconds", "Age of the oldest held event", ["service"])

TRANSIENT = (asyncpg.exceptions.SerializationError, asyncpg.exceptions.DeadlockDetectedError,
             asyncpg.exceptions.ConnectionDoesNotExistError, asyncpg.exceptions.InterfaceError,
             asyncpg.exceptions.CannotConnectNowError, OSError, TimeoutError)


class PermanentError(Exception):
    """The message can never be processed as it is (malformed, unknown type)."""


def is_permanent(exc: BaseException) -> bool:
    # A contract violation while applying (an event this consumer would derive is
    # itself invalid) fails the same way every time: retrying cannot help.
    return isinstance(exc, (PermanentError, ValidationError))


class OrderedInbox:
    def __init__(self, pool: asyncpg.Pool, registry: Registry, apply: Apply,
                 skip: Callable[[asyncpg.Connection, CloudEvent], Awaitable[bool]] | None = None
                 ) -> None:
        self.pool = pool
        self.registry = registry
        self.apply = apply
        # Rebuild cut-off: events a rebuild already covered are dropped (DESIGN §7).
        self.skip = skip
        # Test seam: awaited inside the transaction, after applying, before commit.
        self.before_commit: Callable[[CloudEvent], Awaitable[None]] | None = None
        self._group: GroupCommit[CloudEvent, str] = GroupCommit(self._run, MAX_BATCH)

    def validate(self, body: bytes) -> CloudEvent:
        try:
            ce = decode(body)
        except ValidationError as exc:
            raise PermanentError(f"not a valid CloudEvent: {_first_errors(exc)}") from exc
        cls = self.registry.by_ce_type.get(ce.type)
        if cls is None:
            # A newer version we do not know: unroutable for us, not a crash.
            raise PermanentError(f"unknown event type {ce.type}")
        try:
            cls.model_validate(ce.data)
        except ValidationError as exc:
            raise PermanentError(f"invalid data for {ce.type}: {_first_errors(exc)}") from exc
        return ce

    async def handle(self, ce: CloudEvent) -> str:
        """Applies one event; the events handed in while a transaction commits go
        into the next one together (shared.groupcommit), so a busy consumer pays
        one commit for many messages. Returns the outcome: applied, held,
        duplicate, stale or covered."""
        return await self._group.submit(ce)

    async def handle_many(self, ces: list[CloudEvent]) -> list[str | Exception]:
        """A page of events in order, in one transaction (catch-up, replays); an
        event that fails is tried alone and its error returned in its place."""
        return await self._group.commit_each(ces)

    async def _run(self, ces: list[CloudEvent]) -> list[str | Exception]:
        async with self.pool.acquire() as conn, conn.transaction():
            return [await self._handle_in(conn, ce) for ce in ces]

    async def _handle_in(self, conn: asyncpg.Connection, ce: CloudEvent) -> str:
        fresh = await conn.fetchval(
            "INSERT INTO inbox (event_id, source) VALUES ($1, $2)"
            " ON CONFLICT (event_id) DO NOTHING RETURNING true", ce.id, ce.source)
        if not fresh:
            return "duplicate"
        if self.skip and await self.skip(conn, ce):
            return "covered"
        # One statement: make the stream's row if it is new, lock it, read it.
        last = await conn.fetchval(
            "INSERT INTO stream_state (source, stream_id) VALUES ($1, $2)"
            " ON CONFLICT (source, stream_id) DO UPDATE SET last_sequence ="
            " stream_state.last_sequence RETURNING last_sequence", ce.source, ce.subject)
        sequence = ce.stream_version
        if sequence <= last:
            return "stale"
        if sequence > last + 1:
            await conn.execute(
                "INSERT INTO held_events (source, stream_id, sequence, body)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                ce.source, ce.subject, sequence, ce.model_dump(mode="json"))
            return "held"
        await self.apply(conn, ce)
        last = sequence
        while True:
            held = await conn.fetchval(
                "DELETE FROM held_events WHERE source = $1 AND stream_id = $2"
                " AND sequence = $3 RETURNING body", ce.source, ce.subject, last + 1)
            if held is None:
                break
            await self.apply(conn, CloudEvent.model_validate(held))
            last += 1
        await conn.execute(
            "UPDATE stream_state SET last_sequence = $3 WHERE source = $1 AND stream_id = $2",
            ce.source, ce.subject, last)
        if self.before_commit:
            await self.before_commit(ce)
        return "applied"


def _first_errors(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}"
                     for e in exc.errors()[:5])


async def record_error(pool: asyncpg.Pool, queue: str, message_id: str, routing_key: str | None,
                       error: str, permanent: bool) -> None:
    """The broker only says 'delivery_limit' or 'rejected'; the actual error is kept
    here beside the message id, for `dlq list`."""
    try:
        await pool.execute(
            "INSERT INTO message_errors (message_id, queue, routing_key, error, permanent)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (message_id) DO UPDATE SET"
            " error = $4, permanent = $5, attempts = message_errors.attempts + 1,"
            " last_failed_at = now()", message_id, queue, routing_key, error[:4000], permanent)
    except Exception as exc:  # noqa: BLE001 — the database may be the thing that is down
        log.error("could not record message error", message_id=message_id, error=repr(exc))


def backoff(attempt: int) -> float:
    return min(0.05 * 2 ** attempt, 2.0)


def subscribe(broker: RabbitBroker, settings: Settings, inbox: OrderedInbox, *, queue: str,
              source_service: str, routing_key: str, prefetch: int = 32) -> Any:
    """A durable quorum queue `<service>.<queue>` bound to `simalik.<source_service>`,
    consumed with manual ack after the inbox transaction commits."""
    queue_name = settings.queue(queue)
    rabbit_queue = RabbitQueue(queue_name, queue_type=QueueType.QUORUM, durable=True,
                               arguments=consumer_queue_arguments(settings),
                               routing_key=routing_key)
    exchange = RabbitExchange(settings.exchange(source_service), declare=False)
    service = settings.service

    @broker.subscriber(rabbit_queue, exchange, channel=Channel(prefetch_count=prefetch),
                       ack_policy=AckPolicy.MANUAL)
    async def on_event(msg: RabbitMessage) -> None:
        raw = msg.raw_message
        message_id = raw.message_id or f"no-id:{raw.delivery_tag}"
        with bound_contextvars(message_id=message_id, queue=queue_name):
            try:
                ce = inbox.validate(msg.body)
                with bound_contextvars(correlation_id=ce.correlationid, causation_id=ce.id,
                                       event_type=ce.type, subject=ce.subject):
                    outcome = await inbox.handle(ce)
                    log.debug("consumed", outcome=outcome)
            except Exception as exc:  # noqa: BLE001 — dead-lettered or retried
                if is_permanent(exc):
                    log.error("message rejected to the DLQ", error=str(exc))
                    await record_error(inbox.pool, queue_name, message_id, raw.routing_key,
                                       str(exc), True)
                    OUTCOMES.labels(service, queue_name, "rejected").inc()
                    await msg.reject(requeue=False)
                    return
                attempt = int((raw.headers or {}).get("x-delivery-count") or 0) + 1
                log.warning("processing failed; will retry", error=repr(exc), attempt=attempt)
                await record_error(inbox.pool, queue_name, message_id, raw.routing_key,
                                   f"{type(exc).__name__}: {exc}", False)
                OUTCOMES.labels(service, queue_name, "retried").inc()
                await asyncio.sleep(backoff(attempt))
                await msg.nack(requeue=True)
                return
            OUTCOMES.labels(service, queue_name, outcome).inc()
            await msg.ack()

    return on_event


QUEUE_DEPTH = Gauge("simalik_queue_messages", "Messages ready in a consumer's queue or DLQ",
                    ["service", "queue"])


async def queue_depths(amqp_url: str, settings: Settings, queues: list[str]) -> dict[str, int]:
    """Depth of the service's queues and its DLQ, by passive declaration (the
    management plugin is not needed), exported as gauges."""
    import aio_pika

    depths: dict[str, int] = {}
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        for name in [*(settings.queue(q) for q in queues), settings.queue("dlq")]:
            channel = await connection.channel()
            try:
                declared = await channel.declare_queue(name, passive=True)
            except Exception:  # noqa: BLE001 — not declared yet
                continue
            depths[name] = declared.declaration_result.message_count
            QUEUE_DEPTH.labels(settings.service, name).set(depths[name])
    return depths


async def report_stats(pool: asyncpg.Pool, settings: Settings, queues: list[str]) -> None:
    """Held events and queue depths for /metrics; a failure is logged, never fatal."""
    try:
        await held_stats(pool, settings.service)
        await queue_depths(settings.amqp_url, settings, queues)
    except Exception as exc:  # noqa: BLE001 — metrics must not stop consumption
        log.warning("could not read consumer statistics", error=repr(exc))


async def held_stats(pool: asyncpg.Pool, service: str) -> tuple[int, float]:
    row = await pool.fetchrow(
        "SELECT count(*) AS n, coalesce(extract(epoch FROM now() - min(held_at)), 0) AS age"
        " FROM held_events")
    HELD.labels(service).set(row["n"])
    HELD_AGE.labels(service).set(float(row["age"]))
    return row["n"], float(row["age"])


async def dlq_list(pool: asyncpg.Pool, amqp_url: str, settings: Settings) -> list[dict[str, Any]]:
    """Messages waiting in `<service>.dlq`, with the errors recorded for them. The
    messages are looked at and put back (nack with requeue)."""
    import aio_pika

    out: list[dict[str, Any]] = []
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(settings.queue("dlq"), passive=True)
        seen: list[Any] = []
        while True:
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            seen.append(message)
            error = await pool.fetchrow(
                "SELECT error, attempts, last_failed_at FROM message_errors WHERE message_id = $1",
                message.message_id)
            death = (message.headers or {}).get("x-death") or [{}]
            out.append({
                "message_id": message.message_id,
                "routing_key": (death[0].get("routing-keys") or [message.routing_key])[0]
                if isinstance(death, list) and death else message.routing_key,
                "reason": death[0].get("reason") if isinstance(death, list) and death else None,
                "error": error["error"] if error else None,
                "attempts": error["attempts"] if error else None,
                "body": message.body.decode("utf-8", "replace")[:200],
            })
        for message in seen:
            await message.nack(requeue=True)
    return out


async def dlq_redrive(amqp_url: str, settings: Settings, source_exchange: dict[str, str]
                      ) -> int:
    """Sends every DLQ message back to its original queue (through the default
    exchange, by queue name), with persistence and confirms."""
    import aio_pika

    moved = 0
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(settings.queue("dlq"), passive=True)
        # Only the messages waiting now: one that fails again while the consumer
        # runs comes straight back, and would otherwise be moved round forever.
        for _ in range(queue.declaration_result.message_count):
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            death = (message.headers or {}).get("x-death") or []
            origin = death[0].get("queue") if death else None
            if not origin:
                await message.nack(requeue=True)
                break
            headers = {k: v for k, v in (message.headers or {}).items() if not k.startswith("x-")}
            await channel.default_exchange.publish(
                aio_pika.Message(body=message.body, headers=headers,
                                 content_type=message.content_type,
                                 message_id=message.message_id, type=message.type,
                                 correlation_id=message.correlation_id,
                                 delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key=origin)
            await message.ack()
            moved += 1
    return moved


def topic_matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching: `*` is one word, `#` zero or more."""
    def match(p: list[str], k: list[str]) -> bool:
        if not p:
            return not k
        if p[0] == "#":
            return any(match(p[1:], k[i:]) for i in range(len(k) + 1))
        return bool(k) and p[0] in ("*", k[0]) and match(p[1:], k[1:])

    return match(pattern.split("."), routing_key.split("."))


async def catch_up(inbox: OrderedInbox, feed_url: str, binding: str, *, page: int = 1000,
                   client: Any = None) -> int:
    """Reads the producer's history feed (`GET /v1/events?after=`) from where the
    last catch-up stopped, through the inbox. Run at start-up after the subscriber
    is attached: whatever was published before this consumer's queue existed
    (and so went to `simalik.unrouted`) is applied now; what also arrives on the
    queue is dropped by the inbox as a duplicate."""
    import httpx

    own_client = client is None
    client = client or httpx.AsyncClient(timeout=30)
    handled = 0
    try:
        row = await inbox.pool.fetchrow(
            "SELECT epoch, position FROM catchup_checkpoints WHERE source = $1", feed_url)
        after = row["position"] if row else 0
        known_epoch = row["epoch"] if row else None
        while True:
            body = (await client.get(f"{feed_url.rstrip('/')}/v1/events",
                                     params={"after": after, "limit": page})).raise_for_status(
            ).json()
            if known_epoch is not None and body["epoch"] != known_epoch:
                # A restored store: positions mean something else now; start over
                # (the inbox drops what was already applied).
                log.warning("producer epoch changed; catching up from the start",
                            feed=feed_url)
                after, known_epoch = 0, body["epoch"]
                continue
            page_events = [ce for ce in map(CloudEvent.model_validate, body["events"])
                           if topic_matches(binding, ce.routing_key)
                           and ce.type in inbox.registry.by_ce_type]
            for ce, outcome in zip(page_events, await inbox.handle_many(page_events),
                                   strict=True):
                if not isinstance(outcome, Exception):
                    handled += 1
                elif is_permanent(outcome):
                    # As the queue would: recorded, and the rest goes on.
                    log.error("event skipped in catch-up", event_id=ce.id, error=str(outcome))
                    await record_error(inbox.pool, "catch-up", ce.id, ce.routing_key,
                                       str(outcome), True)
                else:
                    raise outcome
            if body["next_after"] == after:
                break
            after = body["next_after"]
            await inbox.pool.execute(
                "INSERT INTO catchup_checkpoints (source, epoch, position) VALUES ($1, $2, $3)"
                " ON CONFLICT (source) DO UPDATE SET epoch = $2, position = $3,"
                " updated_at = now()", feed_url, body["epoch"], after)
            known_epoch = body["epoch"]
    finally:
        if own_client:
            await client.aclose()
    return handled


async def keep_catching_up(inbox: OrderedInbox, feed_url: str, binding: str,
                           stop: asyncio.Event, retry_seconds: float = 5.0) -> None:
    """catch_up until it succeeds once (the producer's API may start later)."""
    while not stop.is_set():
        try:
            handled = await catch_up(inbox, feed_url, binding)
            log.info("caught up from the history feed", feed=feed_url, events=handled)
            return
        except Exception as exc:  # noqa: BLE001 — retried; the queue keeps flowing
            log.warning("history feed not reachable yet", feed=feed_url, error=repr(exc))
        try:
            await asyncio.wait_for(stop.wait(), retry_seconds)
        except TimeoutError:
            pass


__all__ = ["OrderedInbox", "PermanentError", "subscribe", "record_error", "dlq_list",
           "dlq_redrive", "held_stats", "queue_depths", "report_stats", "catch_up",
           "keep_catching_up", "topic_matches"]
