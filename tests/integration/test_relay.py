"""The relay on the real broker: what an outside subscriber receives, crash
between confirm and checkpoint, one active relay, unroutable messages."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import aio_pika
import pytest
from cloudevents.core.bindings.rabbitmq import RabbitMQMessage, from_rabbitmq
from cloudevents.core.formats.json import JSONFormat

from shared.eventstore import NewEvent
from shared.relay import Relay
from tests.conftest import PREFIX, TRACKED_QUEUES, wait_for

UNIT = {"code": "dinkes", "name": "Dinas Kesehatan", "kind": "dinas", "active_from": "2020-01-01"}
ACTIVITY = {"unit_code": "dinkes", "title": "Rapat koordinasi ꦏꦼꦢꦶꦫꦶ 🎉",
            "starts_at": "2030-03-02T08:00:00", "ends_at": "2030-03-02T11:00:00",
            "category": "rapat", "visibility": "public", "leaders": ["walikota"]}


class Subscriber:
    """An outside subscriber: a plain aio-pika consumer on its own queue."""

    def __init__(self, amqp_url: str, binding: str = "activity.#") -> None:
        self.amqp_url, self.binding = amqp_url, binding
        self.messages: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def __aenter__(self):
        self.connection = await aio_pika.connect(self.amqp_url)
        channel = await self.connection.channel()
        exchange = await channel.declare_exchange(
            f"{PREFIX}simalik.agenda", aio_pika.ExchangeType.TOPIC, durable=True,
            arguments={"alternate-exchange": f"{PREFIX}simalik.unrouted"})
        name = f"{PREFIX}outside.{uuid.uuid4().hex[:6]}"
        TRACKED_QUEUES.append(name)
        self.queue = await channel.declare_queue(name, durable=True)
        await self.queue.bind(exchange, self.binding)
        await self.queue.consume(self._on_message)
        return self

    async def _on_message(self, message) -> None:
        self.messages.append(message)
        await message.ack()

    async def __aexit__(self, *exc):
        await self.queue.delete(if_unused=False, if_empty=False)
        await self.connection.close()

    def events(self):
        return [from_rabbitmq(RabbitMQMessage(headers={k: str(v) for k, v in
                                                       (m.headers or {}).items()},
                                              content_type=m.content_type, body=m.body),
                              JSONFormat())
                for m in self.messages]


@pytest.fixture
async def relay(agenda, amqp_url):
    stop = asyncio.Event()
    relay = Relay(agenda.settings)
    task = asyncio.create_task(relay.run(stop))
    await wait_for(lambda: relay.active.is_set() or task.done(), what="relay to start")
    yield relay
    stop.set()
    await asyncio.wait_for(task, 30)


async def test_post_appears_as_a_cloudevent_for_an_outside_subscriber(
        agenda, agenda_client, amqp_url, relay):
    async with Subscriber(amqp_url) as sub:
        await agenda_client.post("/v1/units", json=UNIT)
        r = await agenda_client.post("/v1/activities", json=ACTIVITY,
                                     headers={"X-Correlation-Id": "corr-123", "X-Actor": "pic-1"})
        assert r.status_code == 201, r.text
        activity_id = r.json()["id"]
        await wait_for(lambda: sub.messages, what="activity.planned on the exchange")
        message = sub.messages[0]
        event = sub.events()[0]
    assert message.routing_key == "activity.planned"
    assert message.content_type == "application/cloudevents+json"
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.message_id == event.get_id()
    assert message.headers["subject"] == f"activity-{activity_id}"
    assert message.headers["unit"] == "dinkes"
    assert event.get_type() == "simalik.agenda.activity.planned.v1"
    assert event.get_source() == "/simalik/agenda"
    assert event.get_subject() == f"activity-{activity_id}"
    assert event.get_extension("sequence") == "00000000000000000001"
    assert event.get_extension("unit") == "dinkes"
    assert event.get_extension("correlationid") == "corr-123"
    assert event.get_extension("epoch") == str(await agenda.store.epoch())
    assert event.get_data()["title"] == ACTIVITY["title"]
    assert event.get_data()["starts_at"] == "2030-03-02T08:00:00+07:00"
    assert "actor" not in event.get_data()


async def test_unroutable_events_go_to_the_unrouted_queue(agenda, amqp_url, relay):
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(f"{PREFIX}simalik.unrouted", passive=True)
        await queue.purge()
        await agenda.store.append("nobody-listens", 0, [NewEvent(type="zzz.nobody", data={})])
        await wait_for(lambda: _depth(channel, queue.name), what="message in simalik.unrouted")


async def _depth(channel, name) -> int:
    q = await channel.declare_queue(name, passive=True)
    return q.declaration_result.message_count


async def test_only_one_relay_is_active(agenda, relay):
    stop = asyncio.Event()
    second = Relay(agenda.settings)
    task = asyncio.create_task(second.run(stop))
    await asyncio.sleep(0.5)  # a standby relay stays standby; nothing to wait for
    assert not second.active.is_set()
    stop.set()
    await asyncio.wait_for(task, 10)


def _relay_process(settings, fault: str = "") -> subprocess.Popen:
    env = {**os.environ, "AGENDA_DATABASE_URL": settings.database_url,
           "AMQP_URL": settings.amqp_url, "SIMALIK_PREFIX": PREFIX, "SIMALIK_FAULT": fault,
           "RELAY_POLL_SECONDS": "0.2", "LOG_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, "-m", "services.agenda", "relay"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def test_relay_killed_between_confirm_and_checkpoint_loses_nothing(
        agenda, agenda_client, amqp_url):
    async with Subscriber(amqp_url) as sub:
        await agenda_client.post("/v1/units", json=UNIT)
        ids = []
        for i in range(3):
            r = await agenda_client.post("/v1/activities", json=ACTIVITY | {"title": f"Rapat {i}"})
            ids.append(r.json()["id"])
        crashing = _relay_process(agenda.settings, fault="relay.after_confirm")
        code = await asyncio.to_thread(crashing.wait, 60)
        assert code == -9, crashing.stderr.read().decode()
        checkpoint = await agenda.pool.fetchval(
            "SELECT position FROM relay_checkpoints WHERE name = 'relay'")
        assert checkpoint == 0, "the checkpoint moved before the crash"
        await wait_for(lambda: len(sub.messages) == 3, what="the confirmed messages")
        first_ids = [m.message_id for m in sub.messages]

        restarted = _relay_process(agenda.settings)
        try:
            await wait_for(lambda: len(sub.messages) >= 6, what="republished messages")
            await wait_for(lambda: _checkpoint(agenda) , what="checkpoint after restart")
        finally:
            restarted.terminate()
            await asyncio.to_thread(restarted.wait, 30)
    again = [m.message_id for m in sub.messages[3:]]
    assert again == first_ids, "the duplicate must carry the same id"
    assert {e.get_subject() for e in sub.events()} == {f"activity-{i}" for i in ids}


async def _checkpoint(agenda) -> bool:
    head = await agenda.store.head()
    position = await agenda.pool.fetchval(
        "SELECT position FROM relay_checkpoints WHERE name = 'relay'")
    return position == head


async def test_checkpoint_never_moves_back(agenda):
    await agenda.pool.execute("INSERT INTO relay_checkpoints (name, position) VALUES ('r', 10)")
    await agenda.pool.execute(
        "UPDATE relay_checkpoints SET position = $2 WHERE name = $1 AND position < $2", "r", 5)
    assert await agenda.pool.fetchval(
        "SELECT position FROM relay_checkpoints WHERE name = 'r'") == 10


async def test_an_overlong_correlation_id_in_metadata_does_not_stop_the_relay(
        agenda, amqp_url, relay):
    # Regression: AMQP's correlation_id holds 255 bytes; the relay died on it.
    async with Subscriber(amqp_url, binding="odd.#") as sub:
        await agenda.store.append("odd-1", 0, [NewEvent(
            type="odd.thing", data={}, metadata={"correlation_id": "c" * 300})])
        await wait_for(lambda: sub.messages, what="the event to be published")
    assert len(sub.messages[0].correlation_id) <= 128
