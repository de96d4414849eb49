"""Measuring on a shared machine: subject and baseline alternate in the same run,
and each figure is the median ratio with its min–max (issue 6)."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field

import asyncpg

from shared import db

PG = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432")
AMQP = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "1.5"))


@dataclass
class Row:
    id: str
    measure: str
    subject: float | None = None
    unit: str = ""
    baselines: dict[str, float] = field(default_factory=dict)
    ratios: dict[str, dict[str, float]] = field(default_factory=dict)
    target: str = ""
    met: bool | None = None
    note: str = ""
    extra: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


async def rate(run_for: Callable[[float], Awaitable[int]], seconds: float = SECONDS) -> float:
    """Operations per second of one timed run."""
    started = time.perf_counter()
    count = await run_for(seconds)
    return count / (time.perf_counter() - started)


async def alternate(subject: Callable[[], Awaitable[float]],
                    baselines: dict[str, Callable[[], Awaitable[float]]],
                    rounds: int = ROUNDS) -> tuple[float, dict[str, float], dict[str, dict]]:
    """Runs subject and each baseline in turn, `rounds` times; returns the median
    subject rate, median baseline rates, and per-baseline ratio median/min/max."""
    subject_rates: list[float] = []
    base_rates: dict[str, list[float]] = {name: [] for name in baselines}
    ratios: dict[str, list[float]] = {name: [] for name in baselines}
    for _ in range(rounds):
        s = await subject()
        subject_rates.append(s)
        for name, baseline in baselines.items():
            b = await baseline()
            base_rates[name].append(b)
            ratios[name].append(s / b if b else float("nan"))
    return (statistics.median(subject_rates),
            {n: statistics.median(v) for n, v in base_rates.items()},
            {n: {"median": statistics.median(v), "min": min(v), "max": max(v)}
             for n, v in ratios.items()})


async def fresh_database(name: str) -> str:
    url = f"{PG}/{name}"
    await db.drop_database(url)
    await db.ensure_database(url)
    return url


def machine() -> dict[str, str]:
    def run(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip()
        except Exception:  # noqa: BLE001 — a missing tool is reported as unknown
            return "unknown"

    async def pg_version() -> str:
        conn = await asyncpg.connect(f"{PG}/postgres")
        try:
            return await conn.fetchval("SHOW server_version")
        finally:
            await conn.close()

    import asyncio

    rabbit = run(["rabbitmqctl", "version"]).splitlines()
    return {"cores": str(os.cpu_count()), "python": platform.python_version(),
            "postgresql": asyncio.run(pg_version()),
            "rabbitmq": rabbit[-1] if rabbit else "unknown",
            "platform": platform.platform()}
