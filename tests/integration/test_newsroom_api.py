"""The newsroom's HTTP API on a real database. Activity events are fed through
the inbox directly; the broker path is covered in test_newsroom_consumer."""

from __future__ import annotations

from datetime import timedelta

from shared.consumer import OrderedInbox
from shared.contracts.agenda import AGENDA_EVENTS
from tests.unit.newsroom.factories import AgendaStream, parsed

PARTISAN = "Wali Kota menghadiri posyandu. Jangan lupa coblos nomor urut 2!"


async def feed(newsroom, *events) -> None:
    inbox = OrderedInbox(newsroom.pool, AGENDA_EVENTS, newsroom.follow_agenda)
    for ce in events:
        assert await inbox.handle(parsed(ce)) == "applied"


async def tasks(client, **params) -> list[dict]:
    r = await client.get("/v1/tasks", params=params)
    assert r.status_code == 200, r.text
    return r.json()["tasks"]


async def teaser_of(client, stream: AgendaStream) -> dict:
    found = await tasks(client, activity_id=stream.activity_id, channel="instagram",
                        kind="social_teaser")
    assert len(found) == 1
    return found[0]


async def test_tasks_are_listed_filtered_and_paged(newsroom, newsroom_client):
    walikota, plain, internal = AgendaStream(), AgendaStream(unit_code="bappeda"), AgendaStream()
    await feed(newsroom, walikota.planned(), internal.planned(visibility="internal", leaders=[]),
               plain.planned(leaders=[], starts_at=walikota.starts_at + timedelta(days=7),
                             ends_at=walikota.ends_at + timedelta(days=7)))
    everything = await tasks(newsroom_client)
    assert len(everything) == 8 + 4
    assert [t["due_at"] for t in everything] == sorted(t["due_at"] for t in everything)
    first = everything[0]
    assert first["due_at"].endswith("+07:00") and first["status"] == "created"
    assert first["activity"]["title"] == "Posyandu balita serentak"
    assert first["activity"]["verified"] is False

    assert len(await tasks(newsroom_client, unit="bappeda")) == 4
    assert {t["channel"] for t in await tasks(newsroom_client, channel="facebook")} == {"facebook"}
    # A date means the whole WIB day: the bappeda activity's day, not its teaser's.
    assert len(await tasks(newsroom_client, due_from="2030-03-09", due_to="2030-03-09")) == 3
    assert len(await tasks(newsroom_client, due_to="2030-03-01")) == 2  # the two teasers
    pages = [await tasks(newsroom_client, limit=5, offset=o) for o in (0, 5, 10)]
    assert [t["id"] for page in pages for t in page] == [t["id"] for t in everything]
    r = await newsroom_client.get("/v1/tasks", params={"status": "finished"})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"


async def test_editorial_workflow_over_http(newsroom, newsroom_client):
    stream = AgendaStream()
    await feed(newsroom, stream.planned())
    teaser = await teaser_of(newsroom_client, stream)
    url = f"/v1/tasks/{teaser['id']}"
    editor = {"X-Actor": "editor-1"}

    r = await newsroom_client.post(f"{url}/assign", json={"expected_version": 1,
                                                          "assignee_id": "writer-7"})
    assert r.json() == {"id": teaser["id"], "version": 2, "status": "assigned"}
    r = await newsroom_client.post(f"{url}/submit", json={"expected_version": 1,
                                                          "draft_text": "x"})
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "expected_version"
    r = await newsroom_client.post(f"{url}/submit", json={"expected_version": 2,
                                                          "draft_text": PARTISAN})
    assert r.status_code == 200, r.text
    assert (await newsroom_client.get(url)).json()["neutrality_hits"] == ["coblos",
                                                                          "nomor urut 2"]

    r = await newsroom_client.post(f"{url}/approve", json={"expected_version": 3},
                                   headers=editor)
    assert r.status_code == 409
    assert "not verified" in r.json()["detail"], r.json()
    await feed(newsroom, stream.verified())

    r = await newsroom_client.post(f"{url}/approve", json={"expected_version": 3},
                                   headers=editor)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "override_reason"
    assert "'coblos'" in r.json()["detail"]
    r = await newsroom_client.post(f"{url}/approve", headers=editor, json={
        "expected_version": 3, "override_reason": "Mengutip pengumuman resmi KPU"})
    assert r.status_code == 200, r.text

    r = await newsroom_client.post(f"{url}/publish", json={
        "expected_version": 4, "url": "https://www.instagram.com/p/kedirikota1",
        "published_at": "2030-03-01T09:05:00"})
    assert r.json()["status"] == "published"
    got = (await newsroom_client.get(url)).json()
    assert got["published_at"] == "2030-03-01T09:05:00+07:00"
    assert got["reviewer_id"] == "editor-1"
    assert got["neutrality_override"] == {"reason": "Mengutip pengumuman resmi KPU",
                                          "terms": ["coblos", "nomor urut 2"]}

    r = await newsroom_client.post(f"{url}/cancel", json={"expected_version": 5,
                                                          "reason": "Salah kanal"})
    assert r.status_code == 409
    assert r.json()["detail"].startswith("task is published; it can be cancelled only when")

    history = (await newsroom_client.get(f"{url}/history")).json()["events"]
    assert [e["type"].split(".")[3] for e in history] == [
        "created", "assigned", "submitted", "approved", "published"]
    assert history[3]["actor"] == "editor-1"
    assert history[0]["actor"] == "newsroom-rules"


async def test_rejection_then_resubmission(newsroom, newsroom_client):
    stream = AgendaStream()
    await feed(newsroom, stream.planned(), stream.verified())
    url = f"/v1/tasks/{(await teaser_of(newsroom_client, stream))['id']}"
    for body in ({"expected_version": 1, "assignee_id": "writer-1"},):
        assert (await newsroom_client.post(f"{url}/assign", json=body)).status_code == 200
    await newsroom_client.post(f"{url}/submit", json={"expected_version": 2,
                                                      "draft_url": "https://docs.example.id/d1"})
    r = await newsroom_client.post(f"{url}/reject", json={"expected_version": 3,
                                                          "reason": "Foto buram"})
    assert r.json()["status"] == "rejected"
    assert (await newsroom_client.get(url)).json()["reject_reason"] == "Foto buram"
    r = await newsroom_client.post(f"{url}/submit", json={"expected_version": 4,
                                                          "draft_text": "Versi kedua"})
    assert r.json() == {"id": url.rsplit("/", 1)[1], "version": 5, "status": "submitted"}
    r = await newsroom_client.post(f"{url}/submit", json={"expected_version": 5})
    assert r.status_code == 422 and "draft_text or draft_url" in r.json()["detail"]


async def test_idempotency_key_replays_the_first_response(newsroom, newsroom_client):
    stream = AgendaStream()
    await feed(newsroom, stream.planned())
    url = f"/v1/tasks/{(await teaser_of(newsroom_client, stream))['id']}/assign"
    body = {"expected_version": 1, "assignee_id": "writer-1"}
    key = {"Idempotency-Key": "assign-teaser-1"}
    first = await newsroom_client.post(url, json=body, headers=key)
    again = await newsroom_client.post(url, json=body, headers=key)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert await newsroom.pool.fetchval(
        "SELECT count(*) FROM events WHERE type = 'task.assigned'") == 1
    other = await newsroom_client.post(url, json={**body, "assignee_id": "writer-2"},
                                       headers=key)
    assert other.status_code == 422


async def test_history_feed_health_and_openapi(newsroom, newsroom_client):
    stream = AgendaStream()
    await feed(newsroom, stream.planned())
    page = (await newsroom_client.get("/v1/events", params={"after": 0, "limit": 3})).json()
    assert len(page["events"]) == 3 and page["next_after"] == page["events"][-1]["position"]
    assert page["events"][0]["type"] == "simalik.newsroom.task.created.v1"
    assert page["events"][0]["source"] == "/simalik/newsroom"
    assert page["events"][0]["unit"] == "dinkes"
    assert page["events"][0]["causationid"]  # the activity event that caused it
    rest = (await newsroom_client.get("/v1/events", params={"after": page["next_after"]})).json()
    assert len(rest["events"]) == 5
    assert (await newsroom_client.get("/healthz")).json() == {"status": "ok"}
    assert (await newsroom_client.get("/readyz")).status_code == 200
    paths = (await newsroom_client.get("/openapi.json")).json()["paths"]
    assert {"/v1/tasks", "/v1/tasks/{task_id}", "/v1/tasks/{task_id}/approve",
            "/v1/events"} <= paths.keys()
    r = await newsroom_client.get("/v1/tasks/00000000-0000-4000-8000-000000000000")
    assert r.status_code == 404
    r = await newsroom_client.post("/v1/tasks/00000000-0000-4000-8000-000000000000/assign",
                                   json={"expected_version": 1, "assignee_id": "w"})
    assert r.status_code == 404
