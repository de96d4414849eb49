"""The agenda's HTTP API on a real database."""

from __future__ import annotations

import asyncio
import uuid

import pytest

UNIT = {"code": "dinkes", "name": "Dinas Kesehatan", "kind": "dinas",
        "active_from": "2020-01-01", "pic": {"name": "Siti", "phone": "+62 812 3456 7890"}}


def activity(**overrides):
    body = {"unit_code": "dinkes", "title": "Posyandu balita serentak",
            "description": "Pemeriksaan balita", "starts_at": "2030-03-02T08:00:00+07:00",
            "ends_at": "2030-03-02T11:00:00+07:00", "location": "Kelurahan Balowerti",
            "category": "pelayanan_publik", "visibility": "public", "leaders": ["walikota"]}
    body.update(overrides)
    return body


async def test_plan_and_read_back(agenda_client):
    r = await agenda_client.post("/v1/units", json=UNIT)
    assert r.status_code == 201, r.text
    r = await agenda_client.post("/v1/activities", json=activity())
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["version"] == 1 and uuid.UUID(body["id"])
    got = (await agenda_client.get(f"/v1/activities/{body['id']}")).json()
    assert got["title"] == "Posyandu balita serentak"
    assert got["starts_at"] == "2030-03-02T08:00:00+07:00"
    assert got["status"] == "planned"


async def _setup(client):
    r = await client.post("/v1/units", json=UNIT)
    assert r.status_code == 201, r.text
    r = await client.post("/v1/activities", json=activity())
    assert r.status_code == 201, r.text
    return r.json()["id"]


def assert_problem(r, status, field=None):
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if field:
        assert field in {e["field"] for e in body.get("errors", [])}, body
    return body


async def test_lifecycle_with_expected_versions(agenda_client):
    aid = await _setup(agenda_client)
    r = await agenda_client.post(f"/v1/activities/{aid}/revise",
                                 json={"expected_version": 1, "title": "Posyandu revisi"})
    assert r.json() == {"id": aid, "version": 2}
    r = await agenda_client.post(f"/v1/activities/{aid}/reschedule", json={
        "expected_version": 2, "starts_at": "2030-03-03T08:00", "ends_at": "2030-03-03T10:00"})
    assert r.json()["version"] == 3
    stale = await agenda_client.post(f"/v1/activities/{aid}/verify", json={"expected_version": 2})
    assert_problem(stale, 409, "expected_version")
    r = await agenda_client.post(f"/v1/activities/{aid}/verify", json={"expected_version": 3},
                                 headers={"X-Actor": "verifikator-kominfo"})
    assert r.json()["version"] == 4
    r = await agenda_client.post(f"/v1/activities/{aid}/cancel",
                                 json={"expected_version": 4, "reason": "Hujan deras"})
    assert r.status_code == 200
    again = await agenda_client.post(f"/v1/activities/{aid}/reschedule", json={
        "expected_version": 5, "starts_at": "2030-03-04T08:00", "ends_at": "2030-03-04T10:00"})
    body = assert_problem(again, 409)
    assert "cancelled" in body["detail"]
    history = (await agenda_client.get(f"/v1/activities/{aid}/history")).json()["events"]
    assert [e["type"].split(".")[3] for e in history] == [
        "planned", "revised", "rescheduled", "verified", "cancelled"]
    assert history[3]["actor"] == "verifikator-kominfo"
    got = (await agenda_client.get(f"/v1/activities/{aid}")).json()
    assert got["status"] == "cancelled" and got["title"] == "Posyandu revisi"
    assert got["starts_at"] == "2030-03-03T08:00:00+07:00" and got["verified"] is True


async def test_filters(agenda_client):
    aid = await _setup(agenda_client)
    await agenda_client.post("/v1/activities", json=activity(
        title="Rapat internal", starts_at="2030-04-01T09:00+07:00",
        ends_at="2030-04-01T10:00+07:00", visibility="internal", leaders=[]))
    march = (await agenda_client.get("/v1/activities", params={
        "unit": "dinkes", "from": "2030-03-01", "to": "2030-03-31"})).json()["activities"]
    assert [a["id"] for a in march] == [aid]
    assert len((await agenda_client.get("/v1/activities", params={
        "status": "planned"})).json()["activities"]) == 2
    assert (await agenda_client.get("/v1/activities", params={
        "leader": "walikota"})).json()["activities"][0]["id"] == aid
    assert_problem(await agenda_client.get("/v1/activities", params={"status": "bogus"}),
                   422, "status")


async def test_end_must_be_after_start_and_units_must_be_active(agenda_client):
    await agenda_client.post("/v1/units", json=UNIT | {"code": "lama", "active_from": "2019-01-01",
                                                       "active_until": "2020-12-31"})
    await agenda_client.post("/v1/units", json=UNIT)
    assert_problem(await agenda_client.post("/v1/activities", json=activity(
        ends_at="2030-03-02T07:00:00+07:00")), 422, "ends_at")
    body = assert_problem(await agenda_client.post("/v1/activities", json=activity(
        unit_code="lama")), 422, "unit_code")
    assert "not active" in body["detail"]
    assert_problem(await agenda_client.post("/v1/activities", json=activity(
        unit_code="nope")), 422, "unit_code")


@pytest.mark.parametrize("field, value, needle", [
    ("title", "Rapat\u0000", "NUL"),
    ("title", "x" * 201, "200"),
    ("description", "a\u001bb", "U+001B"),
    ("starts_at", "kemarin", "datetime"),
    ("leaders", ["presiden"], "walikota"),
    ("visibility", "secret", "public"),
    ("category", "Rapat Besar", "pattern"),
])
async def test_bad_input_names_the_field(agenda_client, field, value, needle):
    await agenda_client.post("/v1/units", json=UNIT)
    body = assert_problem(await agenda_client.post("/v1/activities",
                                                   json=activity(**{field: value})), 422)
    fields = {e["field"].split(".")[0] for e in body["errors"]}
    assert field in fields, body
    assert needle.lower() in body["detail"].lower(), body


@pytest.mark.parametrize("raw", [b"{", b"\xff\xfe", b"[]", b"null", b'{"title": 1}',
                                 b"{\"title\": \"\\ud800\"}"])
async def test_malformed_bodies_are_422_never_500(agenda_client, raw):
    r = await agenda_client.post("/v1/activities", content=raw,
                                 headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_unicode_round_trips_through_the_api(agenda_client):
    await agenda_client.post("/v1/units", json=UNIT)
    title = "ꦱꦼꦩꦶꦤꦂ ꦏꦼꦢꦶꦫꦶ — Seminar 🎉 «Kediri»"
    r = await agenda_client.post("/v1/activities", json=activity(title=title))
    got = (await agenda_client.get(f"/v1/activities/{r.json()['id']}")).json()
    assert got["title"] == title


async def test_idempotency_key(agenda, agenda_client):
    await agenda_client.post("/v1/units", json=UNIT)
    headers = {"Idempotency-Key": "k-123"}
    first = await agenda_client.post("/v1/activities", json=activity(), headers=headers)
    head = await agenda.store.head()
    again = await agenda_client.post("/v1/activities", json=activity(), headers=headers)
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert await agenda.store.head() == head, "a retried POST appended again"
    other = await agenda_client.post("/v1/activities", json=activity(title="Lain"),
                                     headers=headers)
    assert_problem(other, 422, "Idempotency-Key")


async def test_concurrent_retries_with_one_key_append_once(agenda, agenda_client):
    await agenda_client.post("/v1/units", json=UNIT)
    head = await agenda.store.head()
    responses = await asyncio.gather(*(agenda_client.post(
        "/v1/activities", json=activity(), headers={"Idempotency-Key": "same"})
        for _ in range(8)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await agenda.store.head() == head + 1


async def test_contact_details_stay_out_of_events_and_can_be_erased(agenda, agenda_client):
    await agenda_client.post("/v1/units", json=UNIT)
    r = await agenda_client.post("/v1/activities", json=activity(
        contact={"name": "Budi Santoso", "phone": "0812-3456-7890", "email": "budi@example.id"}))
    aid = r.json()["id"]
    feed = (await agenda_client.get("/v1/events")).text
    assert "Budi" not in feed and "0812" not in feed and "Siti" not in feed
    got = (await agenda_client.get(f"/v1/activities/{aid}")).json()
    assert got["contact"]["name"] == "Budi Santoso"
    await agenda.pool.execute("UPDATE people SET name = NULL, phone = NULL, email = NULL,"
                              " erased_at = now() WHERE id = $1", got["contact_id"])
    assert (await agenda_client.get(f"/v1/activities/{aid}")).json()["contact"] is None


async def test_history_feed_pages(agenda_client):
    await _setup(agenda_client)
    page = (await agenda_client.get("/v1/events", params={"after": 0, "limit": 1})).json()
    assert [e["position"] for e in page["events"]] == [1]
    rest = (await agenda_client.get("/v1/events",
                                    params={"after": page["next_after"]})).json()
    assert [e["position"] for e in rest["events"]] == [2]
    assert rest["events"][0]["type"] == "simalik.agenda.activity.planned.v1"
    assert_problem(await agenda_client.get("/v1/events", params={"after": -1}), 422, "after")


async def test_prognosis_submit_and_revise(agenda_client):
    await agenda_client.post("/v1/units", json=UNIT)
    items = [{"item_id": "hari-kesehatan", "title": "Hari Kesehatan Nasional", "month": 11,
              "category": "festival_budaya", "leaders": ["walikota"]}]
    r = await agenda_client.post("/v1/prognoses", json={"unit_code": "dinkes", "year": 2030,
                                                        "items": items})
    assert r.status_code == 201, r.text
    r = await agenda_client.post("/v1/prognoses", json={
        "unit_code": "dinkes", "year": 2030, "expected_version": 1,
        "items": items + [items[0] | {"item_id": "posyandu", "month": 3}]})
    assert r.json()["version"] == 2
    dup = await agenda_client.post("/v1/prognoses", json={
        "unit_code": "dinkes", "year": 2030, "items": items + items})
    assert_problem(dup, 422, "items.1.item_id")
    got = (await agenda_client.get("/v1/prognoses", params={"unit": "dinkes"})).json()
    assert got["prognoses"][0]["revision"] == 2 and len(got["prognoses"][0]["items"]) == 2


async def test_health_and_openapi(agenda_client):
    assert (await agenda_client.get("/healthz")).json() == {"status": "ok"}
    assert (await agenda_client.get("/readyz")).status_code == 200
    spec = (await agenda_client.get("/openapi.json")).json()
    assert "/v1/activities/{activity_id}/reschedule" in spec["paths"]
    assert (await agenda_client.get("/metrics/")).status_code == 200


async def test_a_refused_command_leaves_no_personal_data_behind(agenda, agenda_client):
    # Regression: contact details used to be stored before the rules ran.
    await agenda_client.post("/v1/units", json=UNIT)
    before = await agenda.pool.fetchval("SELECT count(*) FROM people")
    r = await agenda_client.post("/v1/activities", json=activity(
        unit_code="nope", contact={"name": "Rina", "phone": "0812-1111-2222"}))
    assert r.status_code == 422
    r = await agenda_client.post("/v1/activities", json=activity(
        ends_at="2030-03-02T07:00:00+07:00", contact={"name": "Rina"}))
    assert r.status_code == 422
    r = await agenda_client.post("/v1/units", json=UNIT | {"pic": {"name": "Rina"}})
    assert r.status_code == 409
    assert await agenda.pool.fetchval("SELECT count(*) FROM people") == before


async def test_openapi_documents_problem_responses(agenda_client):
    spec = (await agenda_client.get("/openapi.json")).json()
    responses = spec["paths"]["/v1/activities"]["post"]["responses"]
    for status in ("409", "422"):
        assert "application/problem+json" in responses[status]["content"]
    assert "Problem" in spec["components"]["schemas"]
