"""RabbitMQ wiring of the agenda: it consumes nothing; its relay publishes the
store (shared.relay). The AsyncAPI document describes what it publishes."""

from __future__ import annotations

from faststream.rabbit import ExchangeType, RabbitBroker, RabbitExchange
from faststream.specification import AsyncAPI

from shared.contracts.agenda import AGENDA_EVENTS
from shared.settings import Settings


def asyncapi(settings: Settings) -> AsyncAPI:
    """What subscribers of `simalik.agenda` receive. The relay publishes with
    aio-pika, so the channels are declared here for the document only."""
    broker = RabbitBroker(settings.amqp_url)
    exchange = RabbitExchange(settings.exchange(), type=ExchangeType.TOPIC, declare=False)
    for cls in AGENDA_EVENTS:
        broker.publisher(cls.routing_key, exchange, title=f"{cls.routing_key}:publish",
                         description=f"CloudEvents 1.0 structured mode, type {cls.ce_type()}; "
                                     f"`data` is {cls.__name__}.", schema=cls)
    return AsyncAPI(broker, title="SI-MALIK agenda", version="1.0",
                    description="Units, activities and yearly prognoses of the city's units.")
