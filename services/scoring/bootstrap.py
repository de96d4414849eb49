"""The composition root: builds the scoring service from settings. Entrypoints
call this and nothing else builds objects."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from shared import db
from shared.contracts.agenda import AGENDA_EVENTS
from shared.contracts.newsroom import NEWSROOM_EVENTS
from shared.settings import Settings, load

from . import generations
from .domain import DEFAULT_POLICY_PATH, load_policy
from .feeds import Feed
from .rebuild import DEFAULT_PAGE_SIZE, Progress, Rebuild

SQL = sorted((Path(__file__).parent / "sql").glob("*.sql"))


@dataclass
class Service:
    settings: Settings
    pool: asyncpg.Pool

    async def close(self) -> None:
        await self.pool.close()


def read_policy(path: Path | str = DEFAULT_POLICY_PATH) -> tuple[str, str]:
    """(version, text) of a policy file, validated before anything is built on it."""
    text = Path(path).read_text(encoding="utf-8")
    return load_policy(path).version, text


async def migrate(settings: Settings) -> None:
    await db.migrate(settings.database_url, *SQL)
    conn = await db.connect(settings.database_url)
    try:
        await generations.ensure_current(conn, *read_policy())
    finally:
        await conn.close()


async def build(settings: Settings | None = None, *, run_migrations: bool = True,
                pool_size: int = 10) -> Service:
    settings = settings or load("scoring")
    if run_migrations:
        await migrate(settings)
    pool = await db.create_pool(settings.database_url, max_size=pool_size)
    return Service(settings, pool)


def feeds(settings: Settings,
          transports: dict[str, httpx.AsyncBaseTransport] | None = None) -> list[Feed]:
    """The history feeds a rebuild reads; tests hand in transports (ASGI apps)."""
    transports = transports or {}
    return [Feed("agenda", settings.agenda_url, AGENDA_EVENTS, transports.get("agenda")),
            Feed("newsroom", settings.newsroom_url, NEWSROOM_EVENTS, transports.get("newsroom"))]


def rebuild(service: Service, feeds: list[Feed], policy: Path | str = DEFAULT_POLICY_PATH,
            page_size: int = DEFAULT_PAGE_SIZE, progress: Progress | None = None) -> Rebuild:
    version, text = read_policy(policy)
    return Rebuild(service.settings, service.pool, feeds, version, text, page_size,
                   progress or Progress())
