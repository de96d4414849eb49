"""Agenda to newsroom, end to end in one process: the agenda's API and relay, the
newsroom's consumer, relay and API, on the real broker and databases. Every wait
is a deadline on an observable state, never a fixed sleep."""

from __future__ import annotations

import asyncio
import json

import aio_pika
import httpx
import pytest
from cloudevents.core.bindings.rabbitmq import RabbitMQMessage, from_rabbitmq
from cloudevents.core.formats.json import JSONFormat

from services.agenda import bootstrap as agenda_bootstrap
from services.agenda.api import create_app as agenda_app
from services.newsroom import bootstrap as newsroom_bootstrap
from services.newsroom.api import create_app as newsroom_app
from services.newsroom.messaging import consumer, declare_topology
from shared.relay import Relay
from shared.settings import load
from shared.topology import declare_exchange
from tests.conftest import wait_for
from tests.integration.conftest import delete_names, newsroom_names, queue_state

UNIT = {"code": "dinkes", "name": "Dinas Kesehatan", "kind": "dinas",
        "active_from": "2020-01-01"}
ACTIVITY = {"unit_code": "dinkes", "title": "Peresmian Puskesmas Balowerti",
            "description": "Peresmian gedung baru", "starts_at": "2030-03-02T08:00:00+07:00",
            "ends_at": "2030-03-02T11:00:00+07:00", "location": "Puskesmas Balowerti",
            "category": "pelayanan_publik", "visibility": "public", "leaders": ["walikota"]}


@pytest.fixture
async def system(databases, amqp_url):
    """Both services with one broker prefix of their own, relays running, and a
    queue that captures the newsroom's task.created messages."""
    newsroom_url = await databases.fresh("newsroom", newsroom_bootstrap.migrate)
    agenda_url = await databases.fresh("agenda", agenda_bootstrap.migrate)
    n_settings = newsroom_names(amqp_url, newsroom_url)
    a_settings = load("agenda", database_url=agenda_url, AMQP_URL=amqp_url,
                      SIMALIK_PREFIX=n_settings.name_prefix, RELAY_POLL_SECONDS=0.2)
    agenda = await agenda_bootstrap.build(a_settings, run_migrations=False)
    newsroom = await newsroom_bootstrap.build(n_settings, run_migrations=False)

    capture_conn = await aio_pika.connect(amqp_url)
    channel = await capture_conn.channel()
    exchange = await declare_exchange(channel, n_settings)
    captured = await channel.declare_queue(exclusive=True, auto_delete=True)
    await captured.bind(exchange, "task.created")

    await declare_topology(n_settings)
    broker, _ = consumer(newsroom)
    await broker.start()
    stop = asyncio.Event()
    relays = [asyncio.create_task(Relay(s).run(stop)) for s in (a_settings, n_settings)]

    def client(app, name):
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{name}")

    async with client(agenda_app(agenda), "agenda") as a, \
            client(newsroom_app(newsroom), "newsroom") as n:
        yield a, n, captured, n_settings
    stop.set()
    await asyncio.gather(*relays)
    await broker.stop()
    await capture_conn.close()
    await agenda.close()
    await newsroom.close()
    await delete_names(n_settings)


async def tasks_of(newsroom: httpx.AsyncClient, activity_id: str) -> dict[str, dict]:
    r = await newsroom.get("/v1/tasks", params={"activity_id": activity_id})
    return {t["rule_id"]: t for t in r.json()["tasks"]}


async def command(client: httpx.AsyncClient, path: str, /, **body) -> dict:
    r = await client.post(path, json=body, headers={"X-Actor": "kominfo-redaksi"})
    assert r.status_code in (200, 201), r.text
    return r.json()


async def test_activity_lifecycle_drives_the_publication_plan(system):
    agenda, newsroom, captured, settings = system
    await command(agenda, "/v1/units", **UNIT)
    activity_id = (await command(agenda, "/v1/activities", **ACTIVITY))["id"]
    activity = f"/v1/activities/{activity_id}"

    # Planned: the configured tasks appear.
    plan = await wait_for(lambda: _when(tasks_of(newsroom, activity_id), lambda t: len(t) == 8),
                          15, what="the publication plan")
    assert plan["public-teaser-instagram"]["due_at"] == "2030-03-01T09:00:00+07:00"
    assert plan["leader-press-release-media"]["due_at"] == "2030-03-02T14:00:00+07:00"

    # Rescheduled a day later: the due dates move with it.
    await command(agenda, f"{activity}/reschedule", expected_version=1,
                  starts_at="2030-03-03T08:00:00+07:00", ends_at="2030-03-03T11:00:00+07:00")
    moved = await wait_for(lambda: _when(
        tasks_of(newsroom, activity_id),
        lambda t: t["public-teaser-instagram"]["due_at"] == "2030-03-02T09:00:00+07:00"),
        15, what="the due dates to move")
    assert moved["leader-recap-x"]["due_at"] == "2030-03-03T17:00:00+07:00"

    # Verified, then the teaser goes through the workflow and is published.
    await command(agenda, f"{activity}/verify", expected_version=2)
    teaser = f"/v1/tasks/{plan['public-teaser-instagram']['id']}"
    await wait_for(lambda: _when(newsroom.get(teaser), lambda r: r.json()["activity"]["verified"]),
                   15, what="the newsroom to see the verification")
    version = (await newsroom.get(teaser)).json()["version"]
    version = (await command(newsroom, f"{teaser}/assign", expected_version=version,
                             assignee_id="writer-1"))["version"]
    draft = "Besok Wali Kota meresmikan Puskesmas Balowerti."
    version = (await command(newsroom, f"{teaser}/submit", expected_version=version,
                             draft_text=draft))["version"]
    version = (await command(newsroom, f"{teaser}/approve", expected_version=version))["version"]
    await command(newsroom, f"{teaser}/publish", expected_version=version,
                  url="https://www.instagram.com/p/kedirikota-teaser")

    # Cancelled after the teaser was out: the rest is cancelled, a correction added.
    await command(agenda, f"{activity}/cancel", expected_version=3, reason="Hujan deras")
    final = await wait_for(lambda: _when(tasks_of(newsroom, activity_id),
                                         lambda t: "correction-instagram" in t),
                           15, what="the correction task")
    statuses = {rule: t["status"] for rule, t in final.items()}
    assert statuses.pop("public-teaser-instagram") == "published"
    assert statuses.pop("correction-instagram") == "created"
    assert set(statuses.values()) == {"cancelled"} and len(statuses) == 7
    correction = final["correction-instagram"]
    assert correction["kind"] == "correction" and correction["channel"] == "instagram"
    assert correction["title"] == "Ralat (Instagram): Peresmian Puskesmas Balowerti"

    # What the newsroom published decodes with the official CloudEvents SDK.
    message = await wait_for(lambda: captured.get(no_ack=True, fail=False), 15,
                             what="a task.created message")
    event = from_rabbitmq(RabbitMQMessage(headers={k: str(v) for k, v in message.headers.items()},
                                          content_type=message.content_type, body=message.body),
                          JSONFormat())
    assert event.get_type() == "simalik.newsroom.task.created.v1"
    assert event.get_source() == "/simalik/newsroom"
    assert event.get_subject() == f"task-{event.get_data()['task_id']}"
    assert event.get_extension("sequence") == "0" * 19 + "1"
    assert event.get_data()["activity_id"] == activity_id
    assert message.headers["subject"] == event.get_subject() and message.headers["unit"] == "dinkes"
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert json.loads(message.body)["id"] == message.message_id

    assert (await queue_state(settings, "dlq"))[0] == 0


async def _when(value, check):
    """Awaits `value` and returns it when `check` holds, else None (for wait_for)."""
    result = await value
    try:
        return result if check(result) else None
    except (KeyError, TypeError):
        return None
