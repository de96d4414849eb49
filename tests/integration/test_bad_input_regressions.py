"""Regressions from trying to break the APIs: each input here once gave a 500,
a misleading field, or was accepted when it should not have been."""

from __future__ import annotations

import pytest

from tests.integration.test_agenda_api import UNIT, activity, assert_problem

FAR = "9999-12-31T23:59:59-12:00"  # year 10000 in UTC


async def test_far_future_datetimes_are_422_not_500(agenda_client):
    await agenda_client.post("/v1/units", json=UNIT)
    assert_problem(await agenda_client.post("/v1/activities", json=activity(ends_at=FAR)),
                   422, "ends_at")
    assert_problem(await agenda_client.get("/v1/activities", params={"from": FAR}), 422, "from")
    r = await agenda_client.post("/v1/activities", json=activity())
    aid = r.json()["id"]
    assert_problem(await agenda_client.post(f"/v1/activities/{aid}/reschedule", json={
        "expected_version": 1, "starts_at": "2030-03-02T08:00", "ends_at": FAR}), 422, "ends_at")


async def test_far_future_due_filter_is_422(newsroom_client):
    r = await newsroom_client.get("/v1/tasks", params={"due_from": FAR})
    assert_problem(r, 422, "due_from")


@pytest.mark.parametrize("params, field", [({"period": "0001"}, "period"),
                                           ({"period": "9999"}, "period"),
                                           ({"period": "2023", "as_of": FAR}, "as_of")])
async def test_scoring_periods_out_of_range_are_422(scoring_client, params, field):
    r = await scoring_client.get("/v1/compliance", params=params)
    assert_problem(r, 422, field)
    assert (await scoring_client.get("/v1/compliance.csv", params=params)).status_code == 422
    page = await scoring_client.get("/", params=params)
    assert page.status_code == 422 and "text/html" in page.headers["content-type"]


async def test_malformed_json_names_the_body_not_a_character_offset(agenda_client):
    r = await agenda_client.post("/v1/units", content=b'{"code":"abc",',
                                 headers={"content-type": "application/json"})
    body = assert_problem(r, 422, "body")
    assert "JSON" in body["detail"]


async def test_a_date_without_time_is_rejected(agenda_client):
    await agenda_client.post("/v1/units", json=UNIT)
    body = assert_problem(await agenda_client.post("/v1/activities", json=activity(
        starts_at="2030-03-02")), 422, "starts_at")
    assert "time" in body["detail"]


async def test_parent_unit_must_exist(agenda_client):
    r = await agenda_client.post("/v1/units", json=UNIT | {"code": "kel_x", "parent_code": "nope"})
    assert_problem(r, 422, "parent_code")
    await agenda_client.post("/v1/units", json=UNIT)
    r = await agenda_client.post("/v1/units",
                                 json=UNIT | {"code": "kel_y", "parent_code": "dinkes"})
    assert r.status_code == 201, r.text


async def test_event_times_are_published_in_wib_and_units_shown_in_wib(agenda_client):
    await agenda_client.post("/v1/units", json=UNIT)
    await agenda_client.post("/v1/activities", json=activity(
        starts_at="2030-03-02T01:00:00Z", ends_at="2030-03-02T17:00:00+14:00"))
    feed = (await agenda_client.get("/v1/events")).json()["events"]
    data = feed[-1]["data"]
    assert data["starts_at"] == "2030-03-02T08:00:00+07:00"
    assert data["ends_at"] == "2030-03-02T10:00:00+07:00"
    unit = (await agenda_client.get("/v1/units/dinkes")).json()
    assert unit["updated_at"].endswith("+07:00")


def test_prefix_gets_its_separator():
    from shared.settings import load

    assert load("agenda", SIMALIK_PREFIX="kota").exchange() == "kota.simalik.agenda"
    assert load("agenda", SIMALIK_PREFIX="kota.").exchange() == "kota.simalik.agenda"
    assert load("agenda").exchange() == "simalik.agenda"


# -- second round ---------------------------------------------------------------------

async def test_an_overlong_correlation_id_is_replaced_not_stored(agenda, agenda_client):
    await agenda_client.post("/v1/units", json=UNIT)
    r = await agenda_client.post("/v1/activities", json=activity(),
                                 headers={"X-Correlation-Id": "c" * 256})
    assert r.status_code == 201
    assert len(r.headers["x-correlation-id"]) <= 128
    stored = (await agenda.store.read_after(0))[-1]
    assert len(stored.metadata["correlation_id"]) <= 128


@pytest.mark.parametrize("path, params", [
    ("/v1/activities", {"unit": "\x00"}), ("/v1/units", {"kind": "a\x00"}),
    ("/v1/calendar.ics", {"leader": "\x00"}), ("/v1/prognoses", {"unit": "\x00"}),
    ("/v1/activities", {"offset": str(2**63)}), ("/v1/events", {"after": "9" * 20})])
async def test_query_values_postgres_cannot_take_are_422(agenda_client, path, params):
    assert_problem(await agenda_client.get(path, params=params), 422, next(iter(params)))


async def test_concurrent_retries_of_a_command_get_the_first_response(agenda_client):
    import asyncio

    await agenda_client.post("/v1/units", json=UNIT)
    aid = (await agenda_client.post("/v1/activities", json=activity())).json()["id"]
    responses = await asyncio.gather(*(agenda_client.post(
        f"/v1/activities/{aid}/cancel", json={"expected_version": 1, "reason": "Hujan"},
        headers={"Idempotency-Key": "cancel-1"}) for _ in range(4)))
    assert [r.status_code for r in responses] == [200] * 4, [r.text for r in responses]


async def test_prognosis_leaders_are_bounded_and_unique(agenda_client):
    await agenda_client.post("/v1/units", json=UNIT)
    item = {"item_id": "a", "title": "Hari Jadi", "month": 7, "category": "festival_budaya"}
    r = await agenda_client.post("/v1/prognoses", json={
        "unit_code": "dinkes", "year": 2030, "items": [item | {"leaders": ["walikota"] * 50}]})
    assert_problem(r, 422)


async def test_an_oversized_body_is_413(agenda_client):
    r = await agenda_client.post("/v1/activities", content=b"{" + b" " * (2 * 2**20) + b"}",
                                 headers={"content-type": "application/json"})
    assert_problem(r, 413)


async def test_reschedule_end_before_start_names_ends_at(agenda_client):
    await agenda_client.post("/v1/units", json=UNIT)
    aid = (await agenda_client.post("/v1/activities", json=activity())).json()["id"]
    r = await agenda_client.post(f"/v1/activities/{aid}/reschedule", json={
        "expected_version": 1, "starts_at": "2030-03-02T10:00", "ends_at": "2030-03-02T09:00"})
    assert_problem(r, 422, "ends_at")


@pytest.mark.parametrize("title", ["Rapat\u2028baru", "Rapat \u202egnitsoP"])
async def test_line_separators_and_bidi_overrides_are_not_a_single_line_title(agenda_client,
                                                                               title):
    await agenda_client.post("/v1/units", json=UNIT)
    assert_problem(await agenda_client.post("/v1/activities", json=activity(title=title)),
                   422, "title")


async def test_plans_outside_2000_to_2100_are_422(agenda_client):
    await agenda_client.post("/v1/units", json=UNIT | {"active_from": "1900-01-01"})
    assert_problem(await agenda_client.post("/v1/activities", json=activity(
        starts_at="1900-01-01T08:00", ends_at="1900-01-01T09:00")), 422, "starts_at")


def test_times_before_1964_keep_the_wib_offset():
    from shared.contracts.agenda import ActivityPlanned

    event = ActivityPlanned(activity_id="a", unit_code="dinkes", title="Rapat",
                            starts_at="1950-01-02T08:00", ends_at="1950-01-02T09:00",
                            category="rapat", visibility="internal")
    assert event.model_dump(mode="json")["starts_at"] == "1950-01-02T08:00:00+07:00"


async def test_idempotency_keys_belong_to_their_actor(agenda_client):
    # Regression: one actor could be answered with another's stored response.
    await agenda_client.post("/v1/units", json=UNIT)
    first = await agenda_client.post("/v1/activities", json=activity(),
                                     headers={"Idempotency-Key": "k", "X-Actor": "pic-a"})
    other = await agenda_client.post("/v1/activities", json=activity(),
                                     headers={"Idempotency-Key": "k", "X-Actor": "pic-b"})
    assert first.status_code == other.status_code == 201
    assert first.json()["id"] != other.json()["id"]
