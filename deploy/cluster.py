"""Starting the three services as real OS processes, for the demo, the end-to-end
tests and the benchmarks: one environment, readiness by deadline, clean stop."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from . import supervise

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432"
DEFAULT_AMQP = "amqp://guest:guest@127.0.0.1:5672/"


def answers(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1",
                                       parts.port or default_port), timeout=2):
            return True
    except OSError:
        return False


async def delete_prefixed(amqp_url: str, prefix: str, extra_queues: list[str] = ()) -> None:
    """Deletes the exchanges and queues an installation with this prefix makes,
    so a test or benchmark run starts with no messages left by an earlier one."""
    import aio_pika

    exchanges = [f"{prefix}simalik.{x}" for x in ("agenda", "newsroom", "unrouted")]
    queues = [f"{prefix}simalik.unrouted"] + [
        f"{prefix}{svc}.{q}" for svc in ("newsroom", "scoring")
        for q in ("agenda", "newsroom", "dlq", "events")] + list(extra_queues)
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        for queue in queues:
            channel = await connection.channel()
            try:
                await channel.queue_delete(queue)
            except Exception:  # noqa: BLE001 — it may never have been made
                pass
        for exchange in exchanges:
            channel = await connection.channel()
            try:
                await channel.exchange_delete(exchange)
            except Exception:  # noqa: BLE001
                pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    """The processes of all three services sharing one environment."""

    env: dict[str, str]
    processes: list[tuple[str, str, str]] = field(default_factory=lambda: list(
        supervise.PROCESSES))
    children: list = field(default_factory=list)
    quiet: bool = True

    @classmethod
    def local(cls, *, pg: str = DEFAULT_PG, amqp: str = DEFAULT_AMQP, prefix: str = "",
              databases: str = "simalik", ports: bool = False, **env: str) -> Cluster:
        base = {
            "AMQP_URL": amqp, "SIMALIK_PREFIX": prefix,
            "AGENDA_DATABASE_URL": f"{pg}/{databases}_agenda",
            "NEWSROOM_DATABASE_URL": f"{pg}/{databases}_newsroom",
            "SCORING_DATABASE_URL": f"{pg}/{databases}_scoring",
            "RELAY_POLL_SECONDS": "0.5", "LOG_LEVEL": "WARNING",
        }
        base.update(env)
        if ports:  # free ports, so a test cluster never collides with `make run`
            for name in ("AGENDA", "NEWSROOM", "SCORING"):
                base[f"{name}_HTTP_PORT"] = str(free_port())
        base.setdefault("AGENDA_HTTP_PORT", os.environ.get("AGENDA_HTTP_PORT", "8001"))
        base.setdefault("NEWSROOM_HTTP_PORT", os.environ.get("NEWSROOM_HTTP_PORT", "8002"))
        base.setdefault("SCORING_HTTP_PORT", os.environ.get("SCORING_HTTP_PORT", "8003"))
        base["AGENDA_URL"] = f"http://127.0.0.1:{base['AGENDA_HTTP_PORT']}"
        base["NEWSROOM_URL"] = f"http://127.0.0.1:{base['NEWSROOM_HTTP_PORT']}"
        return cls(env=base)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.env[f'{service.upper()}_HTTP_PORT']}"

    async def run(self, *args: str, check: bool = True, capture: bool = False,
                  extra_env: dict[str, str] | None = None) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", *args, env={**os.environ, **self.env, **(extra_env or {})},
            stdout=asyncio.subprocess.PIPE if capture else None,
            stderr=asyncio.subprocess.STDOUT if capture else None)
        out, _ = await proc.communicate()
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} exited with {proc.returncode}:\n"
                               f"{(out or b'').decode(errors='replace')}")
        return proc.returncode, (out or b"").decode(errors="replace")

    async def migrate(self) -> None:
        for module in sorted({p[1] for p in self.available()}):
            await self.run(module, "migrate")

    def available(self) -> list[tuple[str, str, str]]:
        names = {p[0] for p in supervise.available()}
        return [p for p in self.processes if p[0] in names]

    async def start(self, processes: list[tuple[str, str, str]] | None = None,
                    extra_env: dict[str, str] | None = None) -> list:
        started = await supervise.start(processes or self.available(),
                                        env={**self.env, **(extra_env or {})}, quiet=self.quiet)
        self.children.extend(started)
        return started

    async def ready(self, timeout: float = 60) -> None:
        apis = [p[1].rsplit(".", 1)[1] for p in self.available() if p[2] == "api"]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with httpx.AsyncClient(timeout=2) as client:
            for service in apis:
                while True:
                    dead = [n for n, p in self.children if p.returncode is not None]
                    if dead:
                        raise RuntimeError(f"process ended early: {', '.join(dead)}")
                    try:
                        if (await client.get(f"{self.url(service)}/readyz")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if loop.time() > deadline:
                        raise TimeoutError(f"{service} API not ready after {timeout}s")
                    await asyncio.sleep(0.2)

    async def stop(self) -> None:
        await supervise.stop(self.children)
        self.children.clear()
