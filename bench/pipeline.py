"""P3, P4 and P6: the three services as OS processes, end to end.

P3 — activities/s from HTTP POST until the newsroom's tasks exist and scoring has
counted the activity, against raw aio-pika publishes with pipelined confirms to
a quorum queue. P4 — latency at a fixed open-loop rate. P6 — resident memory of
every process, idle and after P3."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid

import aio_pika
import httpx
import psutil

from deploy.cluster import Cluster, delete_prefixed
from shared import db

from .common import AMQP, PG, Row, alternate

PREFIX = "bench."
DATABASES = "simalik_bench"
PERIOD = "2031-01"
_state: dict = {}


async def _cluster() -> Cluster:
    if "cluster" not in _state:
        for service in ("agenda", "newsroom", "scoring"):
            await db.drop_database(f"{PG}/{DATABASES}_{service}")
        # Messages an earlier run left in the bench queues would be consumed now.
        await delete_prefixed(AMQP, PREFIX)
        cluster = Cluster.local(pg=PG, amqp=AMQP, prefix=PREFIX, databases=DATABASES,
                                ports=True, LOG_LEVEL="WARNING", RELAY_POLL_SECONDS="1")
        await cluster.migrate()
        await cluster.start()
        await cluster.ready()
        async with httpx.AsyncClient() as client:
            await client.post(f"{cluster.url('agenda')}/v1/units", json={
                "code": "dinkes", "name": "Dinas Kesehatan", "kind": "dinas",
                "active_from": "2020-01-01"})
        _state["cluster"] = cluster
        _state["rss_idle"] = _rss(cluster)
    return _state["cluster"]


def _rss(cluster: Cluster) -> dict[str, float]:
    out = {}
    for name, proc in cluster.children:
        try:
            out[name] = psutil.Process(proc.pid).memory_info().rss / 2**20
        except psutil.NoSuchProcess:
            out[name] = float("nan")
    return out


def _activity(i: int) -> dict:
    return {"unit_code": "dinkes", "title": f"Posyandu balita {i}",
            "starts_at": f"2031-01-{1 + i % 28:02d}T08:00:00+07:00",
            "ends_at": f"2031-01-{1 + i % 28:02d}T10:00:00+07:00",
            "category": "pelayanan_publik", "visibility": "public", "leaders": ["walikota"]}


async def _scored(client: httpx.AsyncClient, cluster: Cluster) -> int:
    body = (await client.get(f"{cluster.url('scoring')}/v1/compliance",
                             params={"period": PERIOD})).json()
    return sum(u["counts"]["activities"] for u in body.get("units", []))


async def _tasks_created(client: httpx.AsyncClient, cluster: Cluster) -> int:
    after, n = _state.get("newsroom_after", 0), _state.get("tasks", 0)
    while True:
        page = (await client.get(f"{cluster.url('newsroom')}/v1/events",
                                 params={"after": after, "limit": 10000})).json()
        n += sum(1 for e in page["events"] if e["type"].endswith("task.created.v1"))
        if page["next_after"] == after:
            break
        after = page["next_after"]
    _state["newsroom_after"], _state["tasks"] = after, n
    return n


async def _end_to_end(n: int = 200, concurrency: int = 16) -> float:
    cluster = await _cluster()
    async with httpx.AsyncClient(timeout=60,
                                 limits=httpx.Limits(max_connections=concurrency)) as client:
        scored0, tasks0 = await _scored(client, cluster), await _tasks_created(client, cluster)
        per_activity = _state.get("tasks_per_activity")
        started = time.perf_counter()
        queue = list(range(n))

        async def worker() -> None:
            while queue:
                i = queue.pop()
                r = await client.post(f"{cluster.url('agenda')}/v1/activities",
                                      json=_activity(i))
                r.raise_for_status()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        while True:
            scored = await _scored(client, cluster) - scored0
            tasks = await _tasks_created(client, cluster) - tasks0
            if per_activity is None and scored >= n and tasks:
                await asyncio.sleep(1)
                tasks = await _tasks_created(client, cluster) - tasks0
                per_activity = _state["tasks_per_activity"] = tasks // n
            if scored >= n and per_activity and tasks >= n * per_activity:
                break
            if time.perf_counter() - started > 120:
                raise TimeoutError(f"only {scored}/{n} scored, {tasks} tasks")
            await asyncio.sleep(0.05)
        return n / (time.perf_counter() - started)


async def _raw_publish(n: int = 5000, window: int = 256) -> float:
    connection = await aio_pika.connect(AMQP)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(f"{PREFIX}raw.{uuid.uuid4().hex[:6]}", durable=True,
                                            arguments={"x-queue-type": "quorum"})
        body = b'{"specversion":"1.0","data":{"title":"Posyandu balita"}}' * 8
        started = time.perf_counter()
        for offset in range(0, n, window):
            await asyncio.gather(*(channel.default_exchange.publish(
                aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key=queue.name) for _ in range(min(window, n - offset))))
        rate = n / (time.perf_counter() - started)
        await queue.delete(if_unused=False, if_empty=False)
    return rate


async def p3() -> Row:
    value, bases, ratios = await alternate(_end_to_end, {"raw_publish_confirms": _raw_publish})
    _state["rss_after"] = _rss(await _cluster())
    return Row("P3", "activities/s end to end (POST → tasks → scoring), processes",
               value, "activities/s", bases, ratios, "≥ 10 % of raw publish",
               ratios["raw_publish_confirms"]["median"] >= 0.10,
               note=f"{_state.get('tasks_per_activity')} tasks per activity")


async def p4(rate: float = 50, seconds: float = 30) -> Row:
    cluster = await _cluster()
    latencies: dict[str, float] = {}
    sent: dict[str, float] = {}
    connection = await aio_pika.connect(AMQP)
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with connection, httpx.AsyncClient(timeout=httpx.Timeout(30, pool=None),
                                             limits=limits) as client:
        channel = await connection.channel()
        exchange = await channel.get_exchange(f"{PREFIX}simalik.newsroom")
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(exchange, "task.created")

        async def on_task(message) -> None:
            import json

            activity = json.loads(message.body)["data"]["activity_id"]
            if activity in sent and activity not in latencies:
                latencies[activity] = time.perf_counter() - sent[activity]
            await message.ack()

        await queue.consume(on_task)

        errors: list[str] = []

        async def post(i: int) -> None:
            t0 = time.perf_counter()
            try:
                r = await client.post(f"{cluster.url('agenda')}/v1/activities",
                                      json=_activity(100000 + i))
                sent[r.json()["id"]] = t0
            except (httpx.HTTPError, KeyError) as exc:
                errors.append(repr(exc))

        tasks = []
        start = time.perf_counter()
        for i in range(int(rate * seconds)):
            # Open loop: the schedule does not wait for answers.
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(i)))
        await asyncio.gather(*tasks)
        deadline = time.perf_counter() + 60
        while len(latencies) < len(sent) and time.perf_counter() < deadline:
            await asyncio.sleep(0.1)
    values = sorted(latencies.values())
    p50 = statistics.median(values) * 1000
    p99 = values[min(len(values) - 1, int(len(values) * 0.99))] * 1000
    return Row("P4", f"latency POST → first task.created, open loop {rate:.0f}/s for "
               f"{seconds:.0f} s", None, "", {}, {}, "p50 ≤ 30 ms, p99 ≤ 150 ms",
               p50 <= 30 and p99 <= 150,
               note=f"{len(values)}/{len(sent)} observed, {len(errors)} request errors"
                    + (f" (first: {errors[0][:80]})" if errors else ""),
               extra={"p50_ms": p50, "p99_ms": p99})


async def p6() -> Row:
    cluster = await _cluster()
    idle, after = _state.get("rss_idle", {}), _state.get("rss_after") or _rss(cluster)
    extra = {f"{k} idle MB": v for k, v in idle.items()}
    extra |= {f"{k} after P3 MB": v for k, v in after.items()}
    worst = max([*idle.values(), *after.values()])
    await cluster.stop()
    for service in ("agenda", "newsroom", "scoring"):
        await db.drop_database(f"{PG}/{DATABASES}_{service}")
    await delete_prefixed(AMQP, PREFIX)
    _state.clear()
    return Row("P6", "RSS of each process, idle and after P3", worst, "MB max", {}, {},
               "≤ 120 MB", worst <= 120, extra=extra)


SUITES = [p3, p4, p6]
