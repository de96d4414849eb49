"""The composition root: builds the agenda from settings. Entrypoints call this and
nothing else builds objects."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import asyncpg

from shared import db
from shared.eventstore import EventStore
from shared.settings import Settings, load

from .handlers import Agenda
from .projections import project

SQL = sorted((Path(__file__).parent / "sql").glob("*.sql"))


@dataclass
class Service:
    settings: Settings
    pool: asyncpg.Pool
    store: EventStore
    agenda: Agenda

    async def close(self) -> None:
        await self.store.close()
        await self.pool.close()


async def migrate(settings: Settings) -> None:
    await db.migrate(settings.database_url, *SQL)


async def build(settings: Settings | None = None, *, run_migrations: bool = True,
                pool_size: int = 10) -> Service:
    settings = settings or load("agenda")
    if run_migrations:
        await migrate(settings)
    pool = await db.create_pool(settings.database_url, max_size=pool_size)
    store = EventStore(pool, projector=project)
    return Service(settings, pool, store, Agenda(store, pool))
