"""`python -m services.scoring rebuild` as a process, killed with SIGKILL at a
chosen point (shared/faults.py) and run again: it resumes from its checkpoints,
and the result is the same, byte for byte, as a rebuild that never stopped."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import uuid
from pathlib import Path

import aio_pika
import httpx
import pytest
import uvicorn

from services.agenda import bootstrap as agenda_bootstrap
from services.agenda.api import create_app as agenda_app
from services.scoring import bootstrap as scoring_bootstrap
from services.scoring import generations
from services.scoring.api import create_app as scoring_app
from shared import db
from tests.conftest import PREFIX, TRACKED_QUEUES, settings_for, wait_for
from tests.integration.conftest import NewsroomStandIn

ROOT = Path(__file__).resolve().parents[2]
PAGE = 5


async def serve(app) -> tuple[str, uvicorn.Server, asyncio.Task]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False,
                                           lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await wait_for(lambda: server.started or task.done(), what="feed server")
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server, task


@pytest.fixture
async def history(databases, amqp_url):
    """An agenda with 40 events and a newsroom stand-in with 6, both served over HTTP."""
    agenda = await agenda_bootstrap.build(
        settings_for("agenda", await databases.fresh("agenda", agenda_bootstrap.migrate),
                     amqp_url), run_migrations=False)

    async def migrate_store(settings):
        await db.migrate(settings.database_url)

    newsroom_url = await databases.fresh("newsroomstandin", migrate_store)
    newsroom = NewsroomStandIn(settings_for("newsroom", newsroom_url, amqp_url),
                               await db.create_pool(newsroom_url, max_size=4))
    transport = httpx.ASGITransport(app=agenda_app(agenda))
    async with httpx.AsyncClient(transport=transport, base_url="http://agenda") as client:
        for i in range(10):
            r = await client.post("/v1/units", json={
                "code": f"kel{i}", "name": f"Kelurahan {i}", "kind": "kelurahan",
                "active_from": "2021-01-01"})
            assert r.status_code == 201, r.text
        for i in range(30):
            r = await client.post("/v1/activities", json={
                "unit_code": f"kel{i % 7}", "title": f"Kegiatan {i}",
                "starts_at": f"2023-11-{1 + i % 28:02d}T09:00:00+07:00",
                "ends_at": f"2023-11-{1 + i % 28:02d}T10:00:00+07:00",
                "category": "rapat", "visibility": "public"})
            assert r.status_code == 201, r.text
            if i % 10 == 0:
                await newsroom.publish(r.json()["id"], f"kel{i % 7}")
    servers = [await serve(agenda_app(agenda)), await serve(newsroom.app())]
    yield agenda, newsroom, servers[0][0], servers[1][0]
    for _, server, task in servers:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
    await newsroom.close()
    await agenda.close()


async def run_rebuild(env: dict[str, str], fault: str = "") -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.scoring", "rebuild", "--page-size", str(PAGE),
        cwd=ROOT, env={**env, "SIMALIK_FAULT": fault},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode, out.decode()


async def delete_names(settings) -> None:
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        for queue in ("agenda", "newsroom", "dlq"):
            await (await connection.channel()).queue_delete(settings.queue(queue))
        for exchange in (settings.exchange("agenda"), settings.exchange("newsroom"),
                         settings.unrouted):
            await (await connection.channel()).exchange_delete(exchange)
        await (await connection.channel()).queue_delete(settings.unrouted)


@pytest.mark.slow
@pytest.mark.parametrize("fault, checkpoint", [
    ("rebuild.after_page:3", 3 * PAGE),   # killed between pages
    ("rebuild.page_written:2", PAGE),     # killed before a page's commit: it is redone
    ("rebuild.before_swap", 40),          # killed inside the swap: all read, nothing swapped
])
async def test_killed_rebuild_resumes_and_matches_an_uninterrupted_one(
        history, databases, amqp_url, fault, checkpoint):
    agenda, newsroom, agenda_url, newsroom_url = history
    url = await databases.fresh("scoring", scoring_bootstrap.migrate)
    # Broker names of this test's own: the rebuild declares scoring's queues, and
    # they must not catch other tests' agenda events.
    prefix = f"{PREFIX}{uuid.uuid4().hex[:6]}."
    settings = settings_for("scoring", url, amqp_url).model_copy(update={"name_prefix": prefix})
    TRACKED_QUEUES.extend(settings.queue(q) for q in ("agenda", "newsroom", "dlq"))
    env = {**os.environ, "SCORING_DATABASE_URL": url, "AGENDA_URL": agenda_url,
           "NEWSROOM_URL": newsroom_url, "AMQP_URL": amqp_url, "SIMALIK_PREFIX": prefix,
           "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    service = await scoring_bootstrap.build(settings, run_migrations=False)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=scoring_app(service)),
                               base_url="http://scoring")
    try:
        code, out = await run_rebuild(env, fault)
        assert code == -signal.SIGKILL, out
        shadow = await generations.building(service.pool)
        assert shadow is not None
        saved = await generations.positions(service.pool, shadow.generation)
        assert saved["/simalik/agenda"].position == checkpoint
        assert (await generations.current(service.pool)).generation == 1
        r = await client.get("/v1/compliance", params={"period": "2023-11"})
        assert r.status_code == 200 and r.json()["generation"] == 1  # still answering

        code, out = await run_rebuild(env)
        assert code == 0, out
        assert "Selesai: generasi 2 aktif" in out and "dilanjutkan" in out
        assert (await generations.current(service.pool)).generation == 2
        resumed = [(await client.get("/v1/compliance.csv", params={"period": p})).content
                   for p in ("2023-11", "2023")]
        assert b"kel6" in resumed[0]

        feeds = scoring_bootstrap.feeds(settings, {
            "agenda": httpx.ASGITransport(app=agenda_app(agenda)),
            "newsroom": newsroom.transport()})
        await scoring_bootstrap.rebuild(service, feeds, page_size=1000).run()
        assert (await generations.current(service.pool)).generation == 3
        straight = [(await client.get("/v1/compliance.csv", params={"period": p})).content
                    for p in ("2023-11", "2023")]
        assert resumed == straight
    finally:
        await client.aclose()
        await service.close()
        await delete_names(settings)
