"""Who issues a command and how to trace it — the same for every service."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Context:
    """`actor` comes from one place in each API (`current_actor`), so an
    authenticated identity can replace it; the ids go into every event's metadata
    and travel with it to the published CloudEvent."""

    actor: str
    correlation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    causation_id: str | None = None
    idempotency_key: str | None = None
    request_hash: str | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def metadata(self) -> dict[str, Any]:
        meta = {"actor": self.actor, "correlation_id": self.correlation_id,
                "causation_id": self.causation_id or self.correlation_id}
        if self.idempotency_key:
            meta["idempotency_key"] = self.idempotency_key
        return meta
