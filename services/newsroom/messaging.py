"""RabbitMQ wiring: the consumer of `simalik.agenda` (FastStream, through
shared.consumer), the relay of the newsroom's own store, and the AsyncAPI
document describing both."""

from __future__ import annotations

import asyncio
import logging

import aio_pika
from faststream.rabbit import ExchangeType, RabbitBroker, RabbitExchange
from faststream.specification import AsyncAPI

from shared import metrics
from shared.cli import document_publishers
from shared.consumer import OrderedInbox, keep_catching_up, report_stats, subscribe
from shared.contracts.agenda import AGENDA_EVENTS
from shared.contracts.envelope import CloudEvent
from shared.contracts.newsroom import NEWSROOM_EVENTS
from shared.logging import get_logger
from shared.relay import Relay
from shared.settings import Settings
from shared.topology import declare_dlq, declare_exchange

from .bootstrap import Service

log = get_logger("newsroom.messaging")

# `activity.#` covers every event of an activity stream; a narrower binding would
# leave the inbox waiting forever for a sequence number it never gets (DESIGN §5).
AGENDA_BINDING = "activity.#"
# Each delivery runs in its own task (aio-pika), so prefetch also bounds how many
# inbox transactions one process has open; keep it below the pool size.
DEFAULT_PREFETCH = 16


async def declare_topology(settings: Settings) -> None:
    """What must exist before the subscriber starts: the agenda's exchange (so the
    queue can bind even when the agenda's relay has not run yet) and the DLQ (a
    dead-lettered message with no queue to go to would be lost)."""
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        await declare_exchange(channel, settings, "agenda")
        await declare_exchange(channel, settings)
        await declare_dlq(channel, settings)


def consumer(service: Service, *, prefetch: int = DEFAULT_PREFETCH,
             inbox: OrderedInbox | None = None) -> tuple[RabbitBroker, OrderedInbox]:
    """A broker with the agenda subscriber registered; start it with `broker.start()`
    after `declare_topology`. Tests pass their own inbox to use its seams."""
    settings = service.settings
    inbox = inbox or OrderedInbox(service.pool, AGENDA_EVENTS, service.follow_agenda)
    # FastStream's own per-message lines go to DEBUG: the consumer logs outcomes
    # and errors itself, as structured JSON.
    broker = RabbitBroker(settings.amqp_url, graceful_timeout=10.0, log_level=logging.DEBUG)
    subscribe(broker, settings, inbox, queue="agenda", source_service="agenda",
              routing_key=AGENDA_BINDING, prefetch=prefetch)
    return broker, inbox


async def run_consumer(service: Service, stop: asyncio.Event,
                       prefetch: int = DEFAULT_PREFETCH) -> None:
    await declare_topology(service.settings)
    broker, inbox = consumer(service, prefetch=prefetch)
    await broker.start()
    log.info("consumer started", queue=service.settings.queue("agenda"), prefetch=prefetch)
    metrics.serve(service.settings.metrics_port, service.settings.http_host)
    # Events published before our queue existed are read from the agenda's feed.
    catching_up = asyncio.create_task(keep_catching_up(
        inbox, service.settings.agenda_url, AGENDA_BINDING, stop))
    try:
        while not stop.is_set():
            await report_stats(service.pool, service.settings, ["agenda"])
            try:
                await asyncio.wait_for(stop.wait(), 15)
            except TimeoutError:
                pass
    finally:
        catching_up.cancel()
        # Waits for in-flight handlers (graceful_timeout); unacked messages return
        # to the queue and the inbox drops whatever had already committed.
        await broker.stop()


async def run_relay(settings: Settings, stop: asyncio.Event) -> None:
    await Relay(settings).run(stop)


def asyncapi(settings: Settings) -> AsyncAPI:
    """The AsyncAPI document: what the newsroom consumes and publishes. The relay
    publishes with aio-pika, so its channels are declared here for the document
    only."""
    broker = RabbitBroker(settings.amqp_url)
    agenda = RabbitExchange(settings.exchange("agenda"), type=ExchangeType.TOPIC, declare=False)

    @broker.subscriber(settings.queue("agenda"), agenda,
                       title=f"{settings.queue('agenda')}:consume",
                       description=f"Every agenda event of an activity ({AGENDA_BINDING}), "
                                   "as CloudEvents 1.0 in structured mode.")
    async def agenda_events(body: CloudEvent) -> None:  # pragma: no cover - documentation
        ...

    document_publishers(broker, settings, NEWSROOM_EVENTS)
    return AsyncAPI(broker, title="SI-MALIK newsroom", version="1.0",
                    description="Publication tasks made from the agenda's activity events.")
