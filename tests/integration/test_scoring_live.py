"""Live consumption on the real broker, and a rebuild swapped in under it: the
relays publish, scoring's consumer applies, and once settled the projection
equals a rebuild from the history feeds — row for row and byte for byte."""

from __future__ import annotations

import asyncio
import uuid

import aio_pika
import pytest
from faststream.rabbit import RabbitBroker

from services.scoring import handlers, messaging
from services.scoring.projections import COLUMNS
from shared.consumer import OUTCOMES
from shared.relay import Relay
from tests.conftest import PREFIX, TRACKED_QUEUES, wait_for

PERIODS = ("2023-11", "2023")


def unit(code: str, active_from: str = "2021-01-01") -> dict:
    return {"code": code, "name": f"Unit {code}", "kind": "dinas", "active_from": active_from}


def activity(unit_code: str, day: str, visibility: str = "public", **extra) -> dict:
    return {"unit_code": unit_code, "title": f"Kegiatan {unit_code} {day}",
            "starts_at": f"{day}T09:00:00+07:00", "ends_at": f"{day}T11:00:00+07:00",
            "category": "rapat", "visibility": visibility, **extra}


class Live:
    """Relays of the agenda and the newsroom stand-in, and scoring's consumer, on
    broker names of this test's own."""

    def __init__(self, agenda, newsroom, scoring) -> None:
        prefix = f"{PREFIX}{uuid.uuid4().hex[:6]}."
        self.agenda, self.newsroom, self.scoring = agenda, newsroom, scoring
        self.names = [s.model_copy(update={"name_prefix": prefix})
                      for s in (agenda.settings, newsroom.settings, scoring.settings)]
        self.settings = self.names[2]
        TRACKED_QUEUES.extend([self.settings.queue(q) for q in ("agenda", "newsroom", "dlq")]
                              + [self.settings.unrouted])
        self.stop = asyncio.Event()
        self.broker: RabbitBroker | None = None

    async def start(self) -> None:
        await messaging.declare_topology(self.settings)
        await self.start_consumer()
        self.relays = [Relay(self.names[0]), Relay(self.names[1])]
        self.tasks = [asyncio.create_task(r.run(self.stop)) for r in self.relays]
        await wait_for(lambda: all(r.active.is_set() for r in self.relays), what="relays")

    async def start_consumer(self) -> None:
        self.broker = RabbitBroker(self.settings.amqp_url)
        messaging.wire(self.broker, self.settings, handlers.inboxes(self.scoring.pool))
        await self.broker.start()

    async def stop_consumer(self) -> None:
        await self.broker.stop()

    async def close(self) -> None:
        self.stop.set()
        await asyncio.wait_for(asyncio.gather(*self.tasks), 30)
        await self.stop_consumer()
        connection = await aio_pika.connect(self.settings.amqp_url)
        async with connection:
            for queue in ("agenda", "newsroom", "dlq"):
                await (await connection.channel()).queue_delete(self.settings.queue(queue))
            for exchange in (self.settings.exchange("agenda"), self.settings.exchange("newsroom"),
                             self.settings.unrouted):
                await (await connection.channel()).exchange_delete(exchange)
            await (await connection.channel()).queue_delete(self.settings.unrouted)

    async def heads(self) -> int:
        return await self.agenda.store.head() + await self.newsroom.store.head()

    async def relayed(self) -> None:
        """Both relays have published everything in their stores."""
        async def done() -> bool:
            for service in (self.agenda, self.newsroom):
                checkpoint = await service.pool.fetchval(
                    "SELECT coalesce(max(position), 0) FROM relay_checkpoints")
                if checkpoint < await service.store.head():
                    return False
            return True
        await wait_for(done, what="relays at the head of their stores")

    async def settled(self) -> None:
        """Every event of both stores reached scoring's inbox, none is held."""
        async def done() -> bool:
            seen = await self.scoring.pool.fetchval("SELECT count(*) FROM inbox")
            held = await self.scoring.pool.fetchval("SELECT count(*) FROM held_events")
            return seen == await self.heads() and held == 0
        await wait_for(done, what="scoring to consume every event")


@pytest.fixture
async def live(agenda, newsroom_standin, scoring):
    live = Live(agenda, newsroom_standin, scoring)
    await live.start()
    yield live
    await live.close()


async def rows_of_current_generation(pool) -> dict[str, list[tuple]]:
    out = {}
    for table, columns in COLUMNS.items():
        cols = ", ".join(c for c in columns if c != "generation")
        out[table] = [tuple(r) for r in await pool.fetch(
            f"SELECT {cols} FROM {table} WHERE generation ="
            " (SELECT generation FROM generations WHERE status = 'current')"
            f" ORDER BY {cols}")]
    return out


async def csvs(client) -> list[bytes]:
    return [(await client.get("/v1/compliance.csv", params={"period": p})).content
            for p in PERIODS]


def covered(settings) -> float:
    """Events the rebuild cut-off dropped, on both of scoring's queues."""
    return sum(OUTCOMES.labels("scoring", settings.queue(q), "covered")._value.get()
               for q in messaging.QUEUES)


async def test_rebuild_under_live_traffic_equals_the_live_projection(
        live, scoring, agenda_client, scoring_client, scoring_rebuild, newsroom_standin):
    post = agenda_client.post

    async def plan(body: dict) -> str:
        r = await post("/v1/activities", json=body)
        assert r.status_code == 201, r.text
        return r.json()["id"]

    for body in (unit("dinkes"), unit("dishub"), unit("kominfo"),
                 unit("kel_baru", "2023-11-15")):
        assert (await post("/v1/units", json=body)).status_code == 201
    r = await post("/v1/prognoses", json={"unit_code": "dinkes", "year": 2023, "items": [
        {"item_id": "p1", "title": "Posyandu", "month": 11, "category": "rapat"},
        {"item_id": "p2", "title": "Lomba", "month": 8, "category": "rapat"}]})
    assert r.status_code == 201, r.text
    a1 = await plan(activity("dinkes", "2023-11-06"))
    await plan(activity("dinkes", "2023-11-08", "internal", prognosis_item_id="p1"))
    a3 = await plan(activity("dishub", "2023-11-10"))
    a4 = await plan(activity("kominfo", "2023-11-13"))
    a5 = await plan(activity("kominfo", "2023-11-14", "internal"))
    for path, body in ((f"{a3}/reschedule", {"expected_version": 1,
                                             "starts_at": "2023-12-02T09:00:00+07:00",
                                             "ends_at": "2023-12-02T10:00:00+07:00"}),
                       (f"{a4}/cancel", {"expected_version": 1, "reason": "Hujan deras"}),
                       (f"{a5}/verify", {"expected_version": 1}),
                       (f"{a5}/report", {"expected_version": 2})):
        r = await post(f"/v1/activities/{path}", json=body)
        assert r.status_code == 200, r.text
    await newsroom_standin.publish(a1, "dinkes")
    await newsroom_standin.publish(a4, "kominfo", published=False)
    await live.settled()
    before = await csvs(scoring_client)
    assert b"dinkes" in before[0]

    pages = 0

    async def during_rebuild(_source: str) -> None:
        nonlocal pages
        pages += 1
        if pages == 1:
            # The reports keep answering from the current generation.
            r = await scoring_client.get("/v1/compliance", params={"period": "2023-11"})
            assert r.status_code == 200 and r.json()["generation"] == 1
            # Consumed into the old generation while the rebuild runs.
            await plan(activity("kel_baru", "2023-11-20"))
            r = await post(f"/v1/activities/{a1}/report", json={"expected_version": 1})
            assert r.status_code == 200, r.text
            await newsroom_standin.publish(a5, "kominfo")
            await live.settled()
        elif pages == 2:
            # Published but not consumed before the swap: the cut-off must drop them.
            await live.stop_consumer()
            await plan(activity("dishub", "2023-11-22"))
            await newsroom_standin.publish(a1, "dinkes", kind="social_recap")
            await live.relayed()

    dropped = covered(live.settings)
    outcome = await scoring_rebuild(page_size=4, after_page=during_rebuild)
    assert outcome.generation == 2 and pages > 2
    # Recorded after the swap: above the cut-off, applied live.
    await plan(activity("dishub", "2023-11-24", "internal"))
    await live.start_consumer()
    await live.settled()
    # dishub's activity.planned, and the recap's task.created and task.published
    assert covered(live.settings) - dropped == 3
    live_rows = await rows_of_current_generation(scoring.pool)
    live_csvs = await csvs(scoring_client)
    assert live_csvs != before

    await scoring_rebuild(page_size=1000)
    assert await rows_of_current_generation(scoring.pool) == live_rows
    assert await csvs(scoring_client) == live_csvs

    report = (await scoring_client.get("/v1/compliance", params={"period": "2023-11"})).json()
    rows = {r["unit_code"]: r for r in report["units"]}
    assert rows["dishub"]["counts"]["activities"] == 2
    assert rows["kel_baru"]["counts"]["activities"] == 1
    assert rows["dinkes"]["counts"]["published"] == 1
    evidence = (await scoring_client.get("/v1/compliance/dinkes/evidence",
                                         params={"period": "2023-11"})).json()
    a1_line = next(a for a in evidence["activities"] if a["activity_id"] == a1)
    assert a1_line["status"] == "held" and len(a1_line["published_tasks"]) == 2
