"""A consumer that starts after events were published reads them from the
producer's history feed (shared.consumer.catch_up), exactly once."""

from __future__ import annotations

import httpx

from services.agenda.api import create_app
from shared.consumer import OrderedInbox, catch_up
from shared.contracts.agenda import AGENDA_EVENTS

UNIT = {"code": "dinkes", "name": "Dinas Kesehatan", "kind": "dinas", "active_from": "2020-01-01"}
ACTIVITY = {"unit_code": "dinkes", "title": "Peresmian taman", "starts_at": "2030-05-02T08:00",
            "ends_at": "2030-05-02T10:00", "category": "peresmian", "visibility": "public",
            "leaders": ["walikota"]}


async def test_events_from_before_the_queue_existed_are_caught_up(agenda, agenda_client,
                                                                  newsroom):
    await agenda_client.post("/v1/units", json=UNIT)
    for i in range(3):
        r = await agenda_client.post("/v1/activities", json=ACTIVITY | {"title": f"Taman {i}"})
        assert r.status_code == 201
    feed = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(agenda)),
                             base_url="http://agenda")
    inbox = OrderedInbox(newsroom.pool, AGENDA_EVENTS, newsroom.follow_agenda)
    async with feed:
        handled = await catch_up(inbox, "http://agenda", "activity.#", page=2, client=feed)
        tasks = await newsroom.pool.fetchval("SELECT count(*) FROM events")
        assert handled == 3 and tasks > 0
        # Again: the checkpoint makes it a no-op; without it the inbox drops all.
        assert await catch_up(inbox, "http://agenda", "activity.#", client=feed) == 0
        await newsroom.pool.execute("DELETE FROM catchup_checkpoints")
        await catch_up(inbox, "http://agenda", "activity.#", client=feed)
        assert await newsroom.pool.fetchval("SELECT count(*) FROM events") == tasks
