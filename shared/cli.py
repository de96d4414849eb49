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
