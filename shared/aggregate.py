"""A small base for event-sourced aggregates: deciding records events, applying
them changes state, and the two stay separate (as in the eventsourcing library)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Self

from .contracts.base import Event


class DomainError(Exception):
    """A rule was broken. `field` names the input at fault, where there is one."""

    status = 422

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    status = 404


class InvalidState(DomainError):
    """The command does not fit the aggregate's current state (HTTP 409)."""

    status = 409


class Aggregate:
    def __init__(self) -> None:
        self.version = 0
        self.pending: list[Event] = []

    @classmethod
    def replay(cls, events: Iterable[Event]) -> Self:
        aggregate = cls()
        for event in events:
            aggregate.apply(event)
            aggregate.version += 1
        return aggregate

    @property
    def exists(self) -> bool:
        return self.version > 0 or bool(self.pending)

    def record(self, event: Event) -> None:
        self.apply(event)
        self.pending.append(event)

    def apply(self, event: Event) -> None:  # pragma: no cover - every aggregate overrides
        raise NotImplementedError
