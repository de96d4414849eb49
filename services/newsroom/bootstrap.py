"""The composition root: builds the newsroom from settings. Entrypoints call this
and nothing else builds objects."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from shared import db
from shared.contracts.envelope import CloudEvent
from shared.eventstore import EventStore
from shared.settings import Settings, load

from .handlers import Newsroom, follow_agenda
from .projections import project
from .rules import DEFAULT_NEUTRALITY_PATH, DEFAULT_RULES_PATH, load_neutrality, load_rules

SQL = sorted((Path(__file__).parent / "sql").glob("*.sql"))


@dataclass
class Service:
    settings: Settings
    pool: asyncpg.Pool
    store: EventStore
    newsroom: Newsroom

    async def follow_agenda(self, conn: asyncpg.Connection, ce: CloudEvent) -> None:
        """The inbox's `apply` (shared.consumer.OrderedInbox)."""
        await follow_agenda(self.newsroom, conn, ce)

    async def close(self) -> None:
        await self.store.close()
        await self.pool.close()


async def migrate(settings: Settings) -> None:
    await db.migrate(settings.database_url, *SQL)


def config_paths() -> tuple[Path, Path]:
    """The rules and neutrality files; NEWSROOM_RULES_FILE and
    NEWSROOM_NEUTRALITY_FILE point elsewhere (e.g. a ConfigMap)."""
    return (Path(os.environ.get("NEWSROOM_RULES_FILE") or DEFAULT_RULES_PATH),
            Path(os.environ.get("NEWSROOM_NEUTRALITY_FILE") or DEFAULT_NEUTRALITY_PATH))


async def build(settings: Settings | None = None, *, run_migrations: bool = True,
                pool_size: int = 20) -> Service:
    settings = settings or load("newsroom")
    rules_path, neutrality_path = config_paths()
    # Config errors surface before any connection is made.
    rules, neutrality = load_rules(rules_path), load_neutrality(neutrality_path)
    if run_migrations:
        await migrate(settings)
    pool = await db.create_pool(settings.database_url, max_size=pool_size)
    store = EventStore(pool, projector=project)
    return Service(settings, pool, store, Newsroom(store, pool, rules, neutrality))
