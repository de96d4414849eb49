"""CloudEvents 1.0, structured mode: the AMQP body is the whole event as JSON.

The extensions are `sequence` (stream version, zero-padded so it sorts as a string),
`position` (global position in the producer's store), `epoch` (the store's epoch),
`unit` (unit code), and `correlationid` / `causationid` for tracing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

CONTENT_TYPE = "application/cloudevents+json"
SEQUENCE_WIDTH = 20


def format_sequence(version: int) -> str:
    return str(version).zfill(SEQUENCE_WIDTH)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    position: int
    stream_id: str
    version: int
    event_id: UUID
    type: str  # the routing key, e.g. "activity.planned"
    schema_version: int
    recorded_at: datetime
    data: dict[str, Any]
    metadata: dict[str, Any]


class CloudEvent(BaseModel):
    """The envelope as subscribers receive it (also its JSON Schema)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: str = Field("1.0", pattern=r"^1\.0$")
    id: str
    source: str
    type: str
    subject: str
    time: datetime
    datacontenttype: str = "application/json"
    sequence: str = Field(pattern=r"^[0-9]{20}$")
    position: int
    epoch: str
    unit: str | None = None
    correlationid: str | None = None
    causationid: str | None = None
    data: dict[str, Any]

    @property
    def routing_key(self) -> str:
        # simalik.<service>.<routing key>.v<N>
        return self.type.split(".", 2)[2].rsplit(".", 1)[0]

    @property
    def schema_version(self) -> int:
        return int(self.type.rsplit(".v", 1)[1])

    @property
    def stream_version(self) -> int:
        return int(self.sequence)


def to_cloudevent(event: StoredEvent, service: str, epoch: UUID | str) -> dict[str, Any]:
    meta = event.metadata
    ce: dict[str, Any] = {
        "specversion": "1.0",
        "id": str(event.event_id),
        "source": f"/simalik/{service}",
        "type": f"simalik.{service}.{event.type}.v{event.schema_version}",
        "subject": event.stream_id,
        "time": event.recorded_at.isoformat(),
        "datacontenttype": "application/json",
        "sequence": format_sequence(event.version),
        "position": event.position,
        "epoch": str(epoch),
    }
    for key, attr in (("unit", "unit"), ("correlation_id", "correlationid"),
                      ("causation_id", "causationid")):
        if meta.get(key):
            ce[attr] = str(meta[key])
    ce["data"] = event.data
    return ce


class RawJSON(str):
    """An event's `data` as the store holds it, JSON text spliced into the
    envelope unparsed: the relay and the history feed never decode and re-encode
    what they only pass on."""


def encode(ce: dict[str, Any]) -> bytes:
    data = ce.get("data")
    if isinstance(data, RawJSON):
        head = json.dumps({k: v for k, v in ce.items() if k != "data"}, ensure_ascii=False,
                          separators=(",", ":"))
        return f'{head[:-1]},"data":{data}}}'.encode()
    return json.dumps(ce, ensure_ascii=False, separators=(",", ":")).encode()


def decode(body: bytes) -> CloudEvent:
    return CloudEvent.model_validate_json(body)
