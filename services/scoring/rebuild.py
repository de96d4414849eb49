"""Rebuild: replay the history feeds into a shadow generation, then swap (DESIGN §7).

A stream, not a loop of updates: each page (thousands of events) is folded in
memory and written with COPY, in one transaction together with the source's
checkpoint, so a rebuild killed at any point resumes after the last page it
committed. When both feeds are exhausted the swap runs: consumers are locked out,
the pages that arrived meanwhile are read under the lock, and the generation
becomes current with the positions it reached as the cut-off.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, nullcontext
from dataclasses import dataclass, field

import asyncpg

from shared import db, faults
from shared.logging import get_logger
from shared.settings import Settings

from . import generations, projections
from .feeds import Feed, FeedError, Page
from .generations import Generation

log = get_logger("rebuild")

DEFAULT_PAGE_SIZE = 5000


class RebuildBusy(Exception):
    """Another rebuild holds the lock."""


class Progress:
    """What the rebuild reports as it goes; the CLI draws it with rich."""

    def source(self, name: str, start: int) -> None: ...

    def page(self, name: str, position: int, count: int, head: int | None) -> None: ...

    def phase(self, text: str) -> None: ...


@dataclass
class Outcome:
    generation: int
    resumed: bool
    positions: dict[str, int] = field(default_factory=dict)
    events: int = 0
    skipped: int = 0


@dataclass
class Rebuild:
    settings: Settings
    pool: asyncpg.Pool
    feeds: Sequence[Feed]
    policy_version: str
    policy_yaml: str
    page_size: int = DEFAULT_PAGE_SIZE
    progress: Progress = field(default_factory=Progress)
    # Test seam: awaited after each committed page, with the source's name.
    after_page: Callable[[str], Awaitable[None]] | None = None

    async def run(self, restart: bool = False) -> Outcome:
        lock = await db.connect(self.settings.database_url)
        try:
            # A session lock on its own connection: released by the server if we die.
            if not await lock.fetchval("SELECT pg_try_advisory_lock($1)",
                                       generations.REBUILD_LOCK):
                raise RebuildBusy("another rebuild is running")
            async with AsyncExitStack() as stack:
                for feed in self.feeds:
                    await stack.enter_async_context(feed)
                return await self._run(restart)
        finally:
            await lock.close()

    async def _run(self, restart: bool) -> Outcome:
        async with self.pool.acquire() as conn:
            gen = await generations.building(conn)
            if gen is not None and restart:
                await generations.abandon(conn, gen.generation)
                gen = None
            resumed = gen is not None
            if gen is None:
                gen = await generations.start(conn, self.policy_version, self.policy_yaml)
            elif gen.policy_yaml != self.policy_yaml:
                # The projection does not depend on the policy: a resumed rebuild
                # takes the policy asked for now.
                await conn.execute("UPDATE generations SET policy_version = $2, policy_yaml = $3"
                                   " WHERE generation = $1", gen.generation,
                                   self.policy_version, self.policy_yaml)
        outcome = Outcome(gen.generation, resumed)
        log.info("rebuild started", generation=gen.generation, resumed=resumed,
                 policy=self.policy_version)
        for feed in self.feeds:
            await self._pull(gen, feed, outcome)
        self.progress.phase("swap")
        async with self.pool.acquire() as conn, conn.transaction():
            await generations.lock_out_consumers(conn)
            for feed in self.feeds:
                await self._pull(gen, feed, outcome, conn)
            faults.point("rebuild.before_swap", self.settings.fault)
            await generations.swap(conn, gen.generation, [f.source for f in self.feeds])
        log.info("rebuild swapped in", generation=gen.generation, positions=outcome.positions,
                 events=outcome.events)
        self.progress.phase("cleanup")
        await generations.drop_retired(self.pool)
        return outcome

    async def _pull(self, gen: Generation, feed: Feed, outcome: Outcome,
                    tx: asyncpg.Connection | None = None) -> None:
        """Pages of `feed` after the checkpoint until the feed is exhausted. Without
        `tx`, each page commits with its checkpoint; with it (the swap), all join it.
        The next page is already being fetched while one is folded and written, so
        the producer's serialising and ours overlap."""
        saved = (await generations.positions(tx or self.pool, gen.generation)).get(feed.source)
        epoch, position = (saved.epoch, saved.position) if saved else (None, 0)
        if tx is None:
            self.progress.source(feed.name, position)
        fetching = asyncio.create_task(feed.page(position, self.page_size))
        try:
            while True:
                page = await fetching
                if epoch is not None and page.epoch != epoch:
                    if tx is not None:
                        raise FeedError(f"the {feed.name} store changed epoch during the swap")
                    log.warning("store epoch changed; its part of the rebuild starts over",
                                feed=feed.name, old=epoch, new=page.epoch)
                    async with self.pool.acquire() as conn:
                        await generations.reset_source(conn, gen.generation, feed.source)
                    epoch, position = None, 0
                    fetching = asyncio.create_task(feed.page(position, self.page_size))
                    continue
                epoch = page.epoch
                if not page.events:
                    break
                fetching = asyncio.create_task(feed.page(page.next_after, self.page_size))
                await self._write_page(gen, feed, page, tx, outcome)
                position = page.next_after
                self.progress.page(feed.name, position, len(page.events), page.head)
                if tx is None:
                    faults.point("rebuild.after_page", self.settings.fault)
                    if self.after_page:
                        await self.after_page(feed.name)
        finally:
            fetching.cancel()
        outcome.positions[feed.name] = position

    async def _write_page(self, gen: Generation, feed: Feed, page: Page,
                          tx: asyncpg.Connection | None, outcome: Outcome) -> None:
        items, unknown = feed.decode(page.events)
        scope: AbstractAsyncContextManager = (
            nullcontext(tx) if tx is not None else self.pool.acquire())
        async with scope as conn, (conn.transaction() if tx is None else nullcontext()):
            await projections.project(conn, gen.generation, items)
            await generations.track_streams(conn, gen.generation, feed.source, page.events)
            await generations.checkpoint(conn, gen.generation, feed.source, page.epoch,
                                         page.next_after)
            if tx is None:
                faults.point("rebuild.page_written", self.settings.fault)
        outcome.events += len(page.events)
        outcome.skipped += unknown
