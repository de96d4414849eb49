"""Subscriptions of the scoring consumer (DESIGN §5): two quorum queues, each
with its own inbox, dead-lettering to `scoring.dlq`."""

from __future__ import annotations

import aio_pika
from faststream.rabbit import RabbitBroker

from shared.consumer import OrderedInbox, subscribe
from shared.settings import Settings
from shared.topology import consumer_queue_arguments, declare_dlq, declare_exchange

# queue (scoring.<name>) -> (source service, binding). Bindings cover every event
# of a stream: the inbox would wait forever for a type it never receives.
QUEUES = {"agenda": ("agenda", "#"), "newsroom": ("newsroom", "task.#")}


def wire(broker: RabbitBroker, settings: Settings, inboxes: dict[str, OrderedInbox]) -> None:
    for queue, (source, binding) in QUEUES.items():
        subscribe(broker, settings, inboxes[source], queue=queue, source_service=source,
                  routing_key=binding)


async def declare_topology(settings: Settings) -> None:
    """The source exchanges (as their relays declare them), the DLQ and scoring's
    bound queues. A rebuild calls this first: from then on every new event waits
    in a queue, so none falls between the rebuild's last page and live consumption."""
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        await declare_dlq(channel, settings)
        for queue, (source, binding) in QUEUES.items():
            exchange = await declare_exchange(channel, settings, source)
            declared = await channel.declare_queue(
                settings.queue(queue), durable=True, arguments=consumer_queue_arguments(settings))
            await declared.bind(exchange, binding)
