from __future__ import annotations

import pytest

from services.agenda import bootstrap as agenda_bootstrap
from tests.conftest import settings_for


@pytest.fixture
async def agenda_db(databases) -> str:
    return await databases.fresh("agenda", agenda_bootstrap.migrate)


@pytest.fixture
async def agenda(agenda_db, amqp_url):
    service = await agenda_bootstrap.build(settings_for("agenda", agenda_db, amqp_url),
                                           run_migrations=False)
    yield service
    await service.close()


@pytest.fixture
async def agenda_client(agenda):
    import httpx

    from services.agenda.api import create_app

    app = create_app(agenda)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://agenda") as client:
        yield client



# -- newsroom ---------------------------------------------------------------------------
# Each newsroom test gets broker names of its own under the run's prefix: a message
# one test leaves in a queue must never reach the next test's consumer (and its
# database). Its queues are also in TRACKED_QUEUES, in case teardown never runs.
# Imports stay inside the helpers so this section only appends to the file.


def newsroom_names(amqp_url: str, database_url: str = ""):
    import uuid

    from shared.settings import load
    from tests.conftest import PREFIX, TRACKED_QUEUES

    prefix = f"{PREFIX}{uuid.uuid4().hex[:6]}."
    settings = load("newsroom", database_url=database_url, AMQP_URL=amqp_url,
                    SIMALIK_PREFIX=prefix, RELAY_POLL_SECONDS=0.2)
    TRACKED_QUEUES.extend([settings.queue("agenda"), settings.queue("dlq"), settings.unrouted])
    return settings


async def delete_names(settings, extra_queues: tuple[str, ...] = ()) -> None:
    import aio_pika

    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        for queue in (settings.queue("agenda"), settings.queue("dlq"), settings.unrouted,
                      *extra_queues):
            channel = await connection.channel()
            try:
                await channel.queue_delete(queue)
            except Exception:  # noqa: BLE001 — it may never have been made
                pass
        for exchange in (settings.exchange("agenda"), settings.exchange("newsroom"),
                         settings.unrouted):
            channel = await connection.channel()
            try:
                await channel.exchange_delete(exchange)
            except Exception:  # noqa: BLE001
                pass


async def publish_to_queue(settings, body: bytes | dict, *, message_id: str) -> None:
    """Straight to the newsroom's queue (default exchange), persistent, confirmed."""
    import aio_pika

    from shared.contracts.envelope import CONTENT_TYPE, encode

    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.default_exchange.publish(
            aio_pika.Message(encode(body) if isinstance(body, dict) else body,
                             message_id=message_id, content_type=CONTENT_TYPE,
                             delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=settings.queue("agenda"))


async def queue_state(settings, name: str) -> tuple[int, int]:
    """(ready messages, consumers) of one of the newsroom's queues."""
    import aio_pika

    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(settings.queue(name), passive=True)
        result = queue.declaration_result
        return result.message_count, result.consumer_count


@pytest.fixture
async def newsroom_settings(databases, amqp_url):
    from services.newsroom import bootstrap as newsroom_bootstrap

    url = await databases.fresh("newsroom", newsroom_bootstrap.migrate)
    settings = newsroom_names(amqp_url, url)
    yield settings
    await delete_names(settings)


@pytest.fixture
async def newsroom(newsroom_settings):
    from services.newsroom import bootstrap as newsroom_bootstrap

    service = await newsroom_bootstrap.build(newsroom_settings, run_migrations=False)
    yield service
    await service.close()


@pytest.fixture
async def newsroom_client(newsroom):
    import httpx

    from services.newsroom.api import create_app

    transport = httpx.ASGITransport(app=create_app(newsroom), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://newsroom") as client:
        yield client


@pytest.fixture
async def newsroom_consumers(newsroom):
    """`await start(prefetch=1, make_inbox=None)` starts one more consumer instance
    on the test's queue and returns (broker, inbox). Each instance has its own
    broker connection and database pool, as separate processes would;
    `make_inbox(service)` builds a test inbox to use its seams."""
    from services.newsroom import bootstrap as newsroom_bootstrap
    from services.newsroom.messaging import consumer, declare_topology

    brokers: list = []
    services: list = []

    async def start(prefetch: int = 16, make_inbox=None):
        service = await newsroom_bootstrap.build(newsroom.settings, run_migrations=False,
                                                 pool_size=prefetch + 4)
        services.append(service)
        await declare_topology(service.settings)
        broker, inbox = consumer(service, prefetch=prefetch,
                                 inbox=make_inbox(service) if make_inbox else None)
        await broker.start()
        brokers.append(broker)
        return broker, inbox

    yield start
    for broker in brokers:
        await broker.stop()
    for service in services:
        await service.close()


# -- scoring ----------------------------------------------------------------------------
# Scoring reads the newsroom only through its history feed and its exchange. Its
# tests use a stand-in with the same contract — a real shared event store, its feed
# and its relay — so they do not depend on the newsroom's own workflow.


class NewsroomStandIn:
    """The newsroom as scoring sees it: task events in a real event store, the
    history feed over it, and (with `relay`) its relay to `simalik.newsroom`."""

    def __init__(self, settings, pool) -> None:
        from shared.eventstore import EventStore

        self.settings, self.pool, self.store = settings, pool, EventStore(pool)

    async def publish(self, activity_id: str, unit_code: str, *, published: bool = True,
                      kind: str = "press_release") -> str:
        import uuid
        from datetime import UTC, datetime

        from shared.contracts.newsroom import TaskCreated, TaskPublished
        from shared.eventstore import NewEvent

        task_id = str(uuid.uuid4())
        now = datetime.now(UTC)
        common = {"task_id": task_id, "activity_id": activity_id, "unit_code": unit_code}
        events = [TaskCreated(**common, kind=kind, channel="website", title="Rilis kegiatan",
                              due_at=now, rule_id="press-release")]
        if published:
            events.append(TaskPublished(**common, url=f"https://kedirikota.go.id/p/{task_id}",
                                        published_at=now))
        await self.store.append(f"task-{task_id}", 0,
                                [NewEvent.of(e, {"actor": "newsroom-test"}) for e in events])
        return task_id

    async def close(self) -> None:
        await self.store.close()  # the writer keeps a connection of its own
        await self.pool.close()

    def app(self):
        from fastapi import FastAPI

        from shared.contracts.envelope import to_cloudevent

        app = FastAPI()

        @app.get("/v1/events")
        async def history_feed(after: int = 0, limit: int = 1000):
            events = await self.store.read_after(after, limit)
            epoch = await self.store.epoch()
            return {"epoch": str(epoch),
                    "events": [to_cloudevent(e, "newsroom", epoch) for e in events],
                    "next_after": events[-1].position if events else after}

        return app

    def transport(self):
        import httpx

        return httpx.ASGITransport(app=self.app())


@pytest.fixture
async def newsroom_standin(databases, amqp_url):
    from shared import db
    from tests.conftest import settings_for

    async def migrate(settings):
        await db.migrate(settings.database_url)

    url = await databases.fresh("newsroomstandin", migrate)
    settings = settings_for("newsroom", url, amqp_url)
    standin = NewsroomStandIn(settings, await db.create_pool(url, max_size=4))
    yield standin
    await standin.close()


@pytest.fixture
async def scoring_db(databases) -> str:
    from services.scoring import bootstrap as scoring_bootstrap

    return await databases.fresh("scoring", scoring_bootstrap.migrate)


@pytest.fixture
async def scoring(scoring_db, amqp_url):
    from services.scoring import bootstrap as scoring_bootstrap
    from tests.conftest import settings_for

    service = await scoring_bootstrap.build(settings_for("scoring", scoring_db, amqp_url),
                                            run_migrations=False)
    yield service
    await service.close()


@pytest.fixture
async def scoring_client(scoring):
    import httpx

    from services.scoring.api import create_app

    transport = httpx.ASGITransport(app=create_app(scoring), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://scoring") as client:
        yield client


@pytest.fixture
def scoring_rebuild(scoring, agenda, newsroom_standin):
    """`await scoring_rebuild(page_size=..., after_page=None)`: an in-process rebuild
    reading the agenda app and the newsroom stand-in through ASGI transports."""
    import httpx

    from services.agenda.api import create_app as agenda_app
    from services.scoring import bootstrap as scoring_bootstrap

    async def run(page_size: int = 1000, after_page=None, policy=None):
        feeds = scoring_bootstrap.feeds(scoring.settings, {
            "agenda": httpx.ASGITransport(app=agenda_app(agenda)),
            "newsroom": newsroom_standin.transport()})
        kwargs = {"policy": policy} if policy else {}
        job = scoring_bootstrap.rebuild(scoring, feeds, page_size=page_size, **kwargs)
        job.after_page = after_page
        return await job.run()

    return run
