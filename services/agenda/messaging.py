"""RabbitMQ wiring of the agenda: it consumes nothing; its relay publishes the
store (shared.relay). The AsyncAPI document describes what it publishes."""

from __future__ import annotations

from faststream.rabbit import RabbitBroker
from faststream.specification import AsyncAPI

from shared.cli import document_publishers
from shared.contracts.agenda import AGENDA_EVENTS
from shared.settings import Settings


def asyncapi(settings: Settings) -> AsyncAPI:
    """What subscribers of `simalik.agenda` receive. The relay publishes with
    aio-pika, so the channels are declared here for the document only."""
    broker = RabbitBroker(settings.amqp_url)
    document_publishers(broker, settings, AGENDA_EVENTS)
    return AsyncAPI(broker, title="SI-MALIK agenda", version="1.0",
                    description="Units, activities and yearly prognoses of the city's units.")
