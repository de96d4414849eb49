"""Base class and registry for event contracts.

Every event names its routing key and schema version. A breaking change gets a new
class with `schema_version` + 1 and a routing key suffix; stored events are never
rewritten — old versions are upcast on read (see `upcast`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    service: ClassVar[str]
    routing_key: ClassVar[str]
    schema_version: ClassVar[int] = 1
    # upcasters[n] turns data stored at version n into version n + 1.
    upcasters: ClassVar[dict[int, Upcaster]] = {}

    @classmethod
    def ce_type(cls) -> str:
        return f"simalik.{cls.service}.{cls.routing_key}.v{cls.schema_version}"

    @classmethod
    def upcast(cls, data: dict[str, Any], stored_version: int) -> dict[str, Any]:
        for version in range(stored_version, cls.schema_version):
            data = cls.upcasters[version](data)
        return data

    def unit(self) -> str | None:
        return getattr(self, "unit_code", None)


class Registry:
    """Maps routing keys (as stored in the event store's `type`) to event classes."""

    def __init__(self, *classes: type[Event]) -> None:
        self.by_key: dict[str, type[Event]] = {c.routing_key: c for c in classes}
        self.by_ce_type: dict[str, type[Event]] = {c.ce_type(): c for c in classes}

    def load(self, routing_key: str, schema_version: int, data: dict[str, Any]) -> Event:
        cls = self.by_key[routing_key]
        return cls.model_validate(cls.upcast(data, schema_version))

    def __iter__(self):
        return iter(self.by_key.values())
