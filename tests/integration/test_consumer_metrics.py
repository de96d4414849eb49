"""Queue and DLQ depth, held events and their age, as /metrics shows them."""

from __future__ import annotations

import aio_pika
from prometheus_client import REGISTRY

from shared.consumer import report_stats
from shared.topology import consumer_queue_arguments, declare_dlq
from tests.conftest import settings_for


async def test_queue_depth_and_held_events_are_exported(agenda, amqp_url):
    settings = settings_for("newsroom", agenda.settings.database_url, amqp_url)
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await declare_dlq(channel, settings)
        queue = await channel.declare_queue(settings.queue("agenda"), durable=True,
                                            arguments=consumer_queue_arguments(settings))
        for _ in range(3):
            await channel.default_exchange.publish(aio_pika.Message(b"{}"), queue.name)
        await agenda.pool.execute(
            "INSERT INTO held_events (source, stream_id, sequence, body, held_at)"
            " VALUES ('/simalik/agenda', 'activity-x', 3, '{}', now() - interval '90 seconds')")
        await report_stats(agenda.pool, settings, ["agenda"])
        await queue.delete(if_unused=False, if_empty=False)
    labels = {"service": "newsroom", "queue": settings.queue("agenda")}
    assert REGISTRY.get_sample_value("simalik_queue_messages", labels) == 3
    assert REGISTRY.get_sample_value(
        "simalik_queue_messages", labels | {"queue": settings.queue("dlq")}) == 0
    assert REGISTRY.get_sample_value("simalik_held_events", {"service": "newsroom"}) == 1
    assert REGISTRY.get_sample_value("simalik_held_oldest_seconds",
                                     {"service": "newsroom"}) >= 90
