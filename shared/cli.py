"""What every service's `__main__` shares: serving its API, stopping on signals."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from typing import Any

from .settings import Settings


def stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


def serve_api(settings: Settings, build: Callable[[Settings], Awaitable[Any]],
              create_app: Callable[[Any], Any]) -> None:
    """Builds the service (migrations included) and serves its app with uvicorn
    on the settings' host and port; the service is closed when uvicorn stops."""
    import uvicorn

    async def serve() -> None:
        service = await build(settings)
        config = uvicorn.Config(create_app(service), host=settings.http_host,
                                port=settings.http_port, log_config=None, access_log=False)
        try:
            await uvicorn.Server(config).serve()
        finally:
            await service.close()

    asyncio.run(serve())


async def new_epoch(settings: Settings) -> None:
    """After restoring a backup: the store gets a new epoch, so followers reset
    their positions instead of silently skipping (DESIGN §10)."""
    from . import db

    conn = await db.connect(settings.database_url)
    try:
        epoch = await conn.fetchval(
            "UPDATE store_meta SET epoch = gen_random_uuid() RETURNING epoch")
    finally:
        await conn.close()
    print(f"Epoch baru penyimpanan peristiwa: {epoch}")


def document_publishers(broker: Any, settings: Settings, registry: Any) -> None:
    """Declares, for the AsyncAPI document only, one publisher per event the
    service's relay publishes (the relay itself uses aio-pika)."""
    from faststream.rabbit import ExchangeType, RabbitExchange

    exchange = RabbitExchange(settings.exchange(), type=ExchangeType.TOPIC, declare=False)
    for cls in registry:
        broker.publisher(cls.routing_key, exchange, title=f"{cls.routing_key}:publish",
                         description=f"CloudEvents 1.0 structured mode, type {cls.ce_type()}; "
                                     f"`data` is {cls.__name__}.", schema=cls)
