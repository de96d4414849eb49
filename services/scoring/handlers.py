"""Live event handlers: what the inbox (shared/consumer.py) calls for each event
that arrives in order. The mapping from source to contract registry lists every
event scoring follows; what each one changes is in projections.py."""

from __future__ import annotations

import asyncpg

from shared.consumer import OrderedInbox
from shared.contracts.agenda import AGENDA_EVENTS
from shared.contracts.base import Registry
from shared.contracts.envelope import CloudEvent
from shared.contracts.newsroom import NEWSROOM_EVENTS

from . import generations, projections
from .projections import Incoming

REGISTRIES: dict[str, Registry] = {
    "/simalik/agenda": AGENDA_EVENTS,
    "/simalik/newsroom": NEWSROOM_EVENTS,
}


async def apply(conn: asyncpg.Connection, ce: CloudEvent) -> None:
    """One event into the current generation, on the inbox's transaction."""
    generation = await generations.current_id(conn)
    event = REGISTRIES[ce.source].load(ce.routing_key, ce.schema_version, ce.data)
    await projections.project(conn, generation, [Incoming(ce, event)])


async def skip(conn: asyncpg.Connection, ce: CloudEvent) -> bool:
    """Rebuild cut-off (DESIGN §7): events the current generation's rebuild
    already holds are dropped."""
    return await generations.skip_covered(conn, ce)


def inboxes(pool: asyncpg.Pool) -> dict[str, OrderedInbox]:
    """One inbox per source service: each validates against its own contracts."""
    return {name: OrderedInbox(pool, REGISTRIES[f"/simalik/{name}"], apply, skip=skip)
            for name in ("agenda", "newsroom")}
