"""Agenda events for newsroom tests, as the agenda's relay would publish them."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.contracts.agenda import (
    ActivityCancelled,
    ActivityHeld,
    ActivityPlanned,
    ActivityRescheduled,
    ActivityRevised,
    ActivityVerified,
)
from shared.contracts.base import Event
from shared.contracts.envelope import CloudEvent, StoredEvent, to_cloudevent
from shared.contracts.types import WIB

EPOCH = "00000000-0000-4000-8000-000000000001"
_positions = itertools.count(1)

START = datetime(2030, 3, 2, 8, 0, tzinfo=WIB)
END = datetime(2030, 3, 2, 11, 0, tzinfo=WIB)


class AgendaStream:
    """One activity's stream: each call returns the next CloudEvent (as a dict)."""

    def __init__(self, activity_id: str | None = None, unit_code: str = "dinkes") -> None:
        self.activity_id = activity_id or str(uuid.uuid4())
        self.unit_code = unit_code
        self.version = 0
        self.starts_at, self.ends_at = START, END

    def _ce(self, event: Event) -> dict[str, Any]:
        self.version += 1
        stored = StoredEvent(
            position=next(_positions), stream_id=f"activity-{self.activity_id}",
            version=self.version, event_id=uuid.uuid4(), type=event.routing_key,
            schema_version=event.schema_version, recorded_at=datetime.now(UTC),
            data=event.model_dump(mode="json"), metadata={"unit": self.unit_code})
        return to_cloudevent(stored, "agenda", EPOCH)

    def _ids(self) -> dict[str, str]:
        return {"activity_id": self.activity_id, "unit_code": self.unit_code}

    def planned(self, **overrides: Any) -> dict[str, Any]:
        fields = {"title": "Posyandu balita serentak", "description": "Pemeriksaan balita",
                  "starts_at": self.starts_at, "ends_at": self.ends_at,
                  "location": "Kelurahan Balowerti", "category": "pelayanan_publik",
                  "visibility": "public", "leaders": ["walikota"]}
        fields.update(overrides)
        self.starts_at, self.ends_at = fields["starts_at"], fields["ends_at"]
        return self._ce(ActivityPlanned(**self._ids(), **fields))

    def rescheduled(self, shift: timedelta) -> dict[str, Any]:
        previous = (self.starts_at, self.ends_at)
        self.starts_at, self.ends_at = self.starts_at + shift, self.ends_at + shift
        return self._ce(ActivityRescheduled(
            **self._ids(), starts_at=self.starts_at, ends_at=self.ends_at,
            previous_starts_at=previous[0], previous_ends_at=previous[1]))

    def revised(self, **changes: Any) -> dict[str, Any]:
        return self._ce(ActivityRevised(**self._ids(), **changes))

    def verified(self) -> dict[str, Any]:
        return self._ce(ActivityVerified(**self._ids(), verifier_id="verifikator-1"))

    def cancelled(self, reason: str = "Cuaca buruk") -> dict[str, Any]:
        return self._ce(ActivityCancelled(**self._ids(), reason=reason))

    def held(self) -> dict[str, Any]:
        return self._ce(ActivityHeld(**self._ids()))


def parsed(ce: dict[str, Any]) -> CloudEvent:
    return CloudEvent.model_validate(ce)
