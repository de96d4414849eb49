"""Exchanges and queues every service declares the same way (DESIGN §4–§6)."""

from __future__ import annotations

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange

from .settings import Settings

UNROUTED_MAX_LENGTH = 100_000
# At least 10: crashes count toward it too (DESIGN §5).
DELIVERY_LIMIT = 20


async def declare_exchange(channel: AbstractChannel, settings: Settings,
                           service: str | None = None) -> AbstractExchange:
    """The service's topic exchange, with its alternate exchange feeding the capped
    `simalik.unrouted` queue, so nothing published is silently dropped."""
    unrouted = await channel.declare_exchange(
        settings.unrouted, aio_pika.ExchangeType.FANOUT, durable=True)
    queue = await channel.declare_queue(
        settings.unrouted, durable=True,
        arguments={"x-max-length": UNROUTED_MAX_LENGTH, "x-overflow": "drop-head"})
    await queue.bind(unrouted)
    return await channel.declare_exchange(
        settings.exchange(service), aio_pika.ExchangeType.TOPIC, durable=True,
        arguments={"alternate-exchange": settings.unrouted})


def consumer_queue_arguments(settings: Settings) -> dict[str, object]:
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": DELIVERY_LIMIT,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": settings.queue("dlq"),
    }


async def declare_dlq(channel: AbstractChannel, settings: Settings) -> None:
    await channel.declare_queue(settings.queue("dlq"), durable=True,
                                arguments={"x-queue-type": "quorum"})
