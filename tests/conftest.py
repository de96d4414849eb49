"""Fixtures on real PostgreSQL and RabbitMQ.

URLs come from TEST_DATABASE_URL (a server URL; each run makes its own databases)
and AMQP_URL, else the local defaults. Where neither answers and a Docker engine
does, testcontainers starts them. Otherwise the run stops with a message saying
what is missing — it never skips."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from urllib.parse import urlsplit

import asyncpg
import pytest

from deploy.cluster import delete_prefixed as cluster_delete_prefixed
from shared import db
from shared.settings import Settings, load

RUN = uuid.uuid4().hex[:8]
PREFIX = f"t{RUN}."
_containers: list[object] = []


def _answers(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port),
                                      timeout=2):
            return True
    except OSError:
        return False


def _docker_available() -> bool:
    try:
        import docker

        docker.from_env().ping()
        return True
    except Exception:  # noqa: BLE001 — any failure means no engine
        return False


def _start_containers(need_pg: bool, need_amqp: bool) -> None:
    # Small on purpose: no Docker engine runs on the project's own machines.
    if need_pg:
        from testcontainers.postgres import PostgresContainer

        pg = PostgresContainer("postgres:15", driver=None).start()
        _containers.append(pg)
        os.environ["TEST_DATABASE_URL"] = pg.get_connection_url().rsplit("/", 1)[0]
    if need_amqp:
        from testcontainers.rabbitmq import RabbitMqContainer

        mq = RabbitMqContainer("rabbitmq:3.10").start()
        _containers.append(mq)
        os.environ["AMQP_URL"] = (f"amqp://guest:guest@{mq.get_container_host_ip()}:"
                                  f"{mq.get_exposed_port(5672)}/")


def pytest_sessionstart(session: pytest.Session) -> None:
    os.environ.setdefault("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432")
    os.environ.setdefault("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    need_pg = not _answers(os.environ["TEST_DATABASE_URL"], 5432)
    need_amqp = not _answers(os.environ["AMQP_URL"], 5672)
    if not (need_pg or need_amqp):
        return
    if _docker_available():
        _start_containers(need_pg, need_amqp)
        return
    missing = [name for name, gone in (("PostgreSQL at TEST_DATABASE_URL="
                                        + os.environ["TEST_DATABASE_URL"], need_pg),
                                       ("RabbitMQ at AMQP_URL=" + os.environ["AMQP_URL"],
                                        need_amqp)) if gone]
    pytest.exit("The tests need real services and these do not answer: " + "; ".join(missing)
                + ". Start them (see README, 'make services') or point the variables at "
                "running servers. No Docker engine either, so testcontainers cannot help.",
                returncode=3)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for container in _containers:
        container.stop()


def database_url(name: str) -> str:
    return f"{os.environ['TEST_DATABASE_URL'].rstrip('/')}/{name}"


@pytest.fixture(scope="session")
def amqp_url() -> str:
    return os.environ["AMQP_URL"]


@pytest.fixture(scope="session")
def prefix() -> str:
    return PREFIX


class Databases:
    """Makes fresh, migrated databases for one service from a template, and drops
    everything it made at the end of the run."""

    def __init__(self) -> None:
        self.templates: dict[str, str] = {}
        self.made: list[str] = []

    async def template(self, service: str, migrate) -> str:
        if service not in self.templates:
            name = f"simalik_t{RUN}_tpl_{service}"
            await migrate(load(service, database_url=database_url(name)))
            self.templates[service] = name
            self.made.append(name)
        return self.templates[service]

    async def fresh(self, service: str, migrate) -> str:
        template = await self.template(service, migrate)
        name = f"simalik_t{RUN}_{service}_{uuid.uuid4().hex[:6]}"
        admin = await asyncpg.connect(database_url("postgres"))
        try:
            await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        finally:
            await admin.close()
        self.made.append(name)
        return database_url(name)

    async def drop_all(self) -> None:
        for name in reversed(self.made):
            await db.drop_database(database_url(name))


@pytest.fixture(scope="session")
async def databases():
    dbs = Databases()
    yield dbs
    await dbs.drop_all()


@pytest.fixture(scope="session", autouse=True)
async def broker_cleanup(amqp_url):
    """Removes the run's exchanges and queues (all carry the run's prefix)."""
    yield
    await delete_prefixed(amqp_url, PREFIX)


async def delete_prefixed(amqp_url: str, prefix: str) -> None:
    await cluster_delete_prefixed(amqp_url, prefix, TRACKED_QUEUES)


TRACKED_QUEUES: list[str] = []


def settings_for(service: str, url: str, amqp_url: str, **extra: object) -> Settings:
    return load(service, database_url=url, AMQP_URL=amqp_url, SIMALIK_PREFIX=PREFIX,
                RELAY_POLL_SECONDS=0.2, **extra)


async def wait_for(predicate, timeout: float = 30.0, interval: float = 0.05, what: str = ""):
    """Polls until predicate() is truthy; a deadline, not a fixed sleep."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        await asyncio.sleep(interval)
