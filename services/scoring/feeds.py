"""Reading another service's history feed: GET /v1/events?after=<position>&limit=<n>
(DESIGN §6), the one way a rebuild learns the past — never the other databases."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
from pydantic import BaseModel, ValidationError

from shared.contracts.base import Registry
from shared.contracts.envelope import CloudEvent
from shared.logging import get_logger

from .projections import Incoming

log = get_logger("feeds")

RETRIES = 5


class FeedError(Exception):
    """The feed could not be read (after retries) or answered nonsense."""


class _Body(BaseModel):
    epoch: str
    events: list[CloudEvent]
    head: int | None = None  # the feed's last position, where it says so


@dataclass(frozen=True, slots=True)
class Page:
    epoch: str
    events: list[CloudEvent]
    next_after: int
    head: int | None  # total position, where the feed says it


@dataclass
class Feed:
    name: str  # the producing service: "agenda", "newsroom"
    base_url: str
    registry: Registry
    transport: httpx.AsyncBaseTransport | None = None
    timeout: float = 30.0

    @property
    def source(self) -> str:
        return f"/simalik/{self.name}"

    async def __aenter__(self) -> Feed:
        self._client = httpx.AsyncClient(base_url=self.base_url, transport=self.transport,
                                         timeout=self.timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    async def page(self, after: int, limit: int) -> Page:
        raw = await self._get({"after": after, "limit": limit})
        try:
            # One pass in pydantic-core: JSON parsing and envelope validation together.
            body = _Body.model_validate_json(raw)
        except ValidationError as exc:
            raise FeedError(f"{self.name} feed answered an unexpected body: "
                            f"{str(exc)[:300]}") from exc
        events = body.events
        if any(e.source != self.source for e in events):
            raise FeedError(f"{self.name} feed holds events of another source")
        positions = [after] + [e.position for e in events]
        if any(b <= a for a, b in zip(positions, positions[1:], strict=False)):
            raise FeedError(f"{self.name} feed is not in position order after {after}")
        # The last position read, whatever else the body says: a page that holds
        # events always moves the reader forward.
        next_after = events[-1].position if events else after
        return Page(body.epoch, events, next_after, body.head)

    async def _get(self, params: dict[str, int]) -> bytes:
        for attempt in range(RETRIES):
            try:
                response = await self._client.get("/v1/events", params=params)
                if response.status_code < 500:
                    response.raise_for_status()
                    return response.content
                error: Exception = FeedError(f"HTTP {response.status_code}")
            except (httpx.TransportError, httpx.HTTPStatusError) as exc:
                error = exc
                if isinstance(exc, httpx.HTTPStatusError):
                    break  # a 4xx will not change on retry
            log.warning("feed read failed; retrying", feed=self.name, attempt=attempt + 1,
                        error=repr(error))
            await asyncio.sleep(min(0.2 * 2 ** attempt, 3.0))
        raise FeedError(f"cannot read the {self.name} feed at {self.base_url}: {error!r}")

    def decode(self, events: list[CloudEvent]) -> tuple[list[Incoming], int]:
        """Typed events of a page; events this version does not know are left out
        (the live consumer rejects them to its DLQ) and counted."""
        items, unknown = [], 0
        for ce in events:
            cls = self.registry.by_ce_type.get(ce.type)
            if cls is None:
                unknown += 1
                log.warning("unknown event type left out", feed=self.name, type=ce.type,
                            event_id=ce.id)
                continue
            try:
                event = self.registry.load(ce.routing_key, ce.schema_version, ce.data)
            except ValidationError as exc:
                unknown += 1
                log.warning("invalid event left out", feed=self.name, event_id=ce.id,
                            error=str(exc)[:300])
                continue
            items.append(Incoming(ce, event))
        return items, unknown
