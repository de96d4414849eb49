"""Group commit in the application (DESIGN §3): one writer per process takes
whatever is waiting and commits it together. Used by the event store (appends)
and by the consumers' inbox (deliveries)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")

# Commits a batch; returns one outcome per item (an Exception for an item that
# failed alone), or raises when the whole batch failed.
Commit = Callable[[list[Item]], Awaitable[list[Outcome | Exception]]]


class GroupCommit(Generic[Item, Outcome]):
    def __init__(self, commit: Commit, max_batch: int, *, inline: bool = False) -> None:
        self.commit = commit
        self.max_batch = max_batch
        # Inline: a caller that finds nobody committing commits its own item at
        # once, without a hand-off to the writer task (fewer event-loop turns
        # for a lone client).
        self.inline = inline
        self._queue: list[tuple[Item, asyncio.Future[Outcome]]] = []
        self._busy = False
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Outcome:
        if self._busy or not self.inline:
            future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
            self._queue.append((item, future))
            if not self._busy:
                self._busy = True
                self._writer = asyncio.create_task(self._write())
            return await future
        self._busy = True
        try:
            outcome = (await self.commit_each([item]))[0]
        finally:
            if self._queue:
                self._writer = asyncio.create_task(self._write())
            else:
                self._busy = False
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def drain(self) -> None:
        """Waits for the writer to finish what is queued."""
        if self._writer is not None:
            await self._writer

    async def _write(self) -> None:
        try:
            while self._queue:
                batch = self._queue[:self.max_batch]
                self._queue = self._queue[self.max_batch:]
                outcomes = await self.commit_each([item for item, _ in batch])
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue
                    if isinstance(outcome, BaseException):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
                # Let the callers just answered send their next items before
                # deciding the writer is done: they join the next batch instead
                # of one of them committing alone.
                await asyncio.sleep(0)
        finally:
            self._busy = False

    async def commit_each(self, items: list[Item]) -> list[Outcome | Exception]:
        """The batch in one commit; if that fails as a whole, each item alone, so
        one bad item fails only itself."""
        try:
            return await self.commit(items)
        except Exception as exc:  # noqa: BLE001 — handed to the callers
            if len(items) == 1:
                return [exc]
        outcomes: list[Outcome | Exception] = []
        for item in items:
            try:
                outcomes.extend(await self.commit([item]))
            except Exception as exc:  # noqa: BLE001
                outcomes.append(exc)
        return outcomes
