"""Settings from the environment, with defaults that reach the local RabbitMQ and PostgreSQL."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432"
DEFAULT_PORTS = {"agenda": 8001, "newsroom": 8002, "scoring": 8003}


class Settings(BaseSettings):
    """Settings shared by every process of one service.

    The database URL is per service (AGENDA_DATABASE_URL, NEWSROOM_DATABASE_URL,
    SCORING_DATABASE_URL); everything else is common.
    """

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    service: str = "agenda"
    amqp_url: str = Field(default="amqp://guest:guest@127.0.0.1:5672/", alias="AMQP_URL")
    # Prefix for exchanges and queues, so several installations (or test runs) share a broker.
    name_prefix: str = Field(default="", alias="SIMALIK_PREFIX")
    # Fault injection for crash tests, e.g. "relay.after_confirm" (see shared/faults.py).
    fault: str = Field(default="", alias="SIMALIK_FAULT")
    log_level: str = Field(default="INFO", alias="LOG_LEVEL")
    http_host: str = Field(default="127.0.0.1", alias="HTTP_HOST")
    relay_window: int = Field(default=256, alias="RELAY_WINDOW")
    relay_poll_seconds: float = Field(default=1.0, alias="RELAY_POLL_SECONDS")
    agenda_url: str = Field(default="http://127.0.0.1:8001", alias="AGENDA_URL")
    newsroom_url: str = Field(default="http://127.0.0.1:8002", alias="NEWSROOM_URL")
    # Prometheus metrics (and /healthz) for processes without an HTTP API: relays
    # and consumers. 0 turns it off.
    metrics_port: int = Field(default=0, alias="METRICS_PORT")
    database_url: str = ""
    http_port: int = 0

    def model_post_init(self, _context: object) -> None:
        import os

        if self.name_prefix and not self.name_prefix.endswith("."):
            self.name_prefix += "."
        key = self.service.upper()
        if not self.database_url:
            self.database_url = os.environ.get(
                f"{key}_DATABASE_URL", f"{DEFAULT_PG}/simalik_{self.service}"
            )
        if not self.http_port:
            self.http_port = int(
                os.environ.get(f"{key}_HTTP_PORT", DEFAULT_PORTS.get(self.service, 8000))
            )

    def exchange(self, service: str | None = None) -> str:
        return f"{self.name_prefix}simalik.{service or self.service}"

    @property
    def unrouted(self) -> str:
        return f"{self.name_prefix}simalik.unrouted"

    def queue(self, name: str) -> str:
        return f"{self.name_prefix}{self.service}.{name}"


def load(service: str, **overrides: object) -> Settings:
    return Settings(service=service, **overrides)
