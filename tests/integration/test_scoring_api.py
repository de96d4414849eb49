"""The scoring API on a rebuilt projection: the city's own figure, CSV, evidence,
dashboard, byte-identical rebuilds and as_of."""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import dataclass
from datetime import datetime

import httpx
import pytest

from services.agenda import bootstrap as agenda_bootstrap
from services.agenda.api import create_app as agenda_app
from services.scoring import bootstrap as scoring_bootstrap
from services.scoring.api import create_app as scoring_app
from shared import db
from tests.conftest import settings_for
from tests.integration.conftest import NewsroomStandIn

REGULAR = 91  # active all of 2023
WITH_INPUT = 66  # regular units with an activity starting in November 2023


def unit(code: str, active_from: str = "2021-01-01", active_until: str | None = None,
         name: str | None = None) -> dict:
    body = {"code": code, "name": name or f"Unit Uji {code}", "kind": "kelurahan",
            "active_from": active_from}
    if active_until:
        body["active_until"] = active_until
    return body


def activity(unit_code: str, starts_at: str, title: str = "Rapat koordinasi",
             visibility: str = "internal", **extra) -> dict:
    ends = datetime.fromisoformat(starts_at).replace(minute=59).isoformat()
    return {"unit_code": unit_code, "title": title, "starts_at": starts_at, "ends_at": ends,
            "category": "rapat", "visibility": visibility, **extra}


async def post_all(client: httpx.AsyncClient, path: str, bodies: list[dict]) -> list[dict]:
    out = []
    for start in range(0, len(bodies), 25):
        answers = await asyncio.gather(*(client.post(path, json=b)
                                         for b in bodies[start:start + 25]))
        for r in answers:
            assert r.status_code == 201, r.text
        out.extend(r.json() for r in answers)
    return out


async def populate_city(client: httpx.AsyncClient) -> dict[str, list[str]]:
    """93 units active in November 2023 by their business dates, 68 of them with an
    activity starting that month in WIB; the edges of both are in it."""
    units = [unit(f"kel{i:02d}") for i in range(1, REGULAR + 1)]
    units += [unit("kel_baru", active_from="2023-11-30"),       # active the last day
              unit("kel_lebur", active_until="2023-11-01"),     # active the first day
              unit("kel_lama", active_until="2023-10-31"),      # gone before November
              unit("kel_depan", active_from="2023-12-01")]      # not yet in November
    await post_all(client, "/v1/units", units)
    plans = [activity(f"kel{i:02d}", f"2023-11-{1 + i % 28:02d}T09:00:00+07:00",
                      visibility="public" if i % 3 == 0 else "internal")
             for i in range(1, WITH_INPUT + 1)]
    plans += [activity("kel01", "2023-11-20T13:00:00+07:00", title="Musrenbang kelurahan"),
              activity("kel_baru", "2023-11-30T23:30:00+07:00", title="Malam tirakatan"),
              activity("kel_lebur", "2023-11-01T08:00:00+07:00", title="Serah terima"),
              # 1 December 00:30 WIB is still 30 November in UTC: not November.
              activity(f"kel{WITH_INPUT + 1:02d}", "2023-12-01T00:30:00+07:00"),
              activity(f"kel{WITH_INPUT + 2:02d}", "2023-10-31T16:00:00+07:00"),
              activity("kel_depan", "2023-12-01T09:00:00+07:00")]
    made = await post_all(client, "/v1/activities", plans)
    ids: dict[str, list[str]] = {}
    for plan, answer in zip(plans, made, strict=True):
        ids.setdefault(plan["unit_code"], []).append(answer["id"])
    return ids


@dataclass
class City:
    agenda: httpx.AsyncClient
    scoring: httpx.AsyncClient
    activity_ids: dict[str, list[str]]
    rebuild: object


@pytest.fixture(scope="module")
async def city(databases, amqp_url):
    agenda = await agenda_bootstrap.build(
        settings_for("agenda", await databases.fresh("agenda", agenda_bootstrap.migrate),
                     amqp_url), run_migrations=False)
    scoring = await scoring_bootstrap.build(
        settings_for("scoring", await databases.fresh("scoring", scoring_bootstrap.migrate),
                     amqp_url), run_migrations=False)

    async def migrate_store(settings):
        await db.migrate(settings.database_url)

    newsroom_url = await databases.fresh("newsroomstandin", migrate_store)
    newsroom_pool = await db.create_pool(newsroom_url, max_size=4)
    newsroom = NewsroomStandIn(settings_for("newsroom", newsroom_url, amqp_url), newsroom_pool)
    agenda_transport = httpx.ASGITransport(app=agenda_app(agenda))
    scoring_transport = httpx.ASGITransport(app=scoring_app(scoring),
                                            raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=agenda_transport, base_url="http://agenda") as ac, \
            httpx.AsyncClient(transport=scoring_transport, base_url="http://scoring") as sc:
        ids = await populate_city(ac)
        for code in ("kel03", "kel06"):  # public activities, one of them covered twice
            await newsroom.publish(ids[code][0], code)
        await newsroom.publish(ids["kel03"][0], "kel03", kind="social_recap")

        async def rebuild(page_size: int = 50):
            feeds = scoring_bootstrap.feeds(scoring.settings, {
                "agenda": httpx.ASGITransport(app=agenda_app(agenda)),
                "newsroom": newsroom.transport()})
            return await scoring_bootstrap.rebuild(scoring, feeds, page_size=page_size).run()

        await rebuild()
        yield City(ac, sc, ids, rebuild)
    await newsroom.close()
    await scoring.close()
    await agenda.close()


async def test_the_citys_input_rate_for_november_2023(city):
    r = await city.scoring.get("/v1/compliance", params={"period": "2023-11"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["units_active"], body["units_with_input"]) == (93, 68)
    assert body["input_rate"] == "73.12"
    rows = {row["unit_code"]: row for row in body["units"]}
    assert len(rows) == 93 and "kel_lama" not in rows and "kel_depan" not in rows
    assert rows["kel_baru"]["counts"]["activities"] == 1
    assert rows["kel_lebur"]["counts"]["activities"] == 1
    assert rows[f"kel{WITH_INPUT + 1:02d}"]["counts"]["activities"] == 0
    assert rows["kel01"]["counts"]["activities"] == 2
    assert [row["rank"] for row in body["units"]] == list(range(1, 94))
    order = [(-float(row["score"]), row["unit_code"]) for row in body["units"]]
    assert order == sorted(order)
    covered = rows["kel03"]["counts"]
    assert (covered["public"], covered["published"]) == (1, 1)


async def test_csv_has_a_row_per_active_unit(city):
    r = await city.scoring.get("/v1/compliance.csv", params={"period": "2023-11"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 93
    assert {row["period"] for row in rows} == {"2023-11"}
    assert sum(1 for row in rows if row["input"] == "100.00") == 68


async def test_two_rebuilds_give_byte_identical_csv(city):
    periods = ("2023-11", "2023-Q4", "2023")

    async def csvs():
        return [(await city.scoring.get("/v1/compliance.csv", params={"period": p})).content
                for p in periods]

    before = await csvs()
    generation = (await city.scoring.get("/v1/projection")).json()["generation"]
    await city.rebuild(page_size=7)
    assert (await city.scoring.get("/v1/projection")).json()["generation"] == generation + 1
    assert await csvs() == before


async def test_evidence_lists_the_events_behind_a_units_row(city):
    r = await city.scoring.get("/v1/compliance/kel01/evidence", params={"period": "2023-11"})
    assert r.status_code == 200, r.text
    body = r.json()
    feed = (await city.agenda.get("/v1/events", params={"limit": 10000})).json()["events"]
    streams = {"unit-kel01"} | {f"activity-{a}" for a in city.activity_ids["kel01"]}
    expected = sorted(e["id"] for e in feed if e["subject"] in streams)
    assert body["event_ids"] == expected
    listed = set(body["unit_event_ids"])
    for line in body["activities"]:
        listed |= set(line["event_ids"])
    assert sorted(listed) == expected
    assert [a["title"] for a in body["activities"]] == ["Rapat koordinasi",
                                                        "Musrenbang kelurahan"]

    covered = (await city.scoring.get("/v1/compliance/kel03/evidence",
                                      params={"period": "2023-11"})).json()
    assert len(covered["activities"][0]["published_tasks"]) == 2
    # unit + planned + two task.published
    assert len(covered["event_ids"]) == 4


async def test_dashboard_speaks_indonesian_and_shows_wib(city):
    r = await city.scoring.get("/", params={"period": "2023-11"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert "Peringkat kepatuhan unit kerja — November 2023" in page
    assert "Tingkat pengisian agenda: <strong>73,12 %</strong>" in page
    assert "68 dari 93 unit aktif" in page
    assert 'lang="id"' in page

    r = await city.scoring.get("/unit/kel_baru", params={"period": "2023-11"})
    assert r.status_code == 200
    assert "Malam tirakatan" in r.text
    assert "30 Nov 2023 23.30 WIB" in r.text
    assert "Kegiatan di balik angka ini" in r.text

    r = await city.scoring.get("/unit/kel_lama", params={"period": "2023-11"})
    assert r.status_code == 404 and "tidak aktif" in r.text


async def test_bad_queries_are_problems(city):
    r = await city.scoring.get("/v1/compliance", params={"period": "2023-13"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "period"
    r = await city.scoring.get("/v1/compliance", params={"period": "2023-11", "as_of": "kemarin"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "as_of"
    r = await city.scoring.get("/v1/compliance/kel_lama/evidence", params={"period": "2023-11"})
    assert r.status_code == 404
    r = await city.scoring.get("/", params={"period": "November"})
    assert r.status_code == 422 and "Periode harus" in r.text


async def test_as_of_answers_with_what_was_recorded_by_then(
        agenda_client, scoring_client, scoring_rebuild):
    await post_all(agenda_client, "/v1/units", [unit("dinkes"), unit("dishub")])
    a1, a2 = await post_all(agenda_client, "/v1/activities", [
        activity("dinkes", "2023-11-10T09:00:00+07:00", visibility="public"),
        activity("dishub", "2023-11-20T09:00:00+07:00")])
    feed = (await agenda_client.get("/v1/events")).json()["events"]
    moment = feed[-1]["time"]  # the last event of the first batch
    await scoring_rebuild()
    then = (await scoring_client.get("/v1/compliance.csv",
                                     params={"period": "2023-11", "as_of": moment})).content

    # Later: dishub's activity moves to December, dinkes reports, a unit is added
    # with an activity, and dishub turns out to have closed in October.
    await asyncio.sleep(0.01)
    r = await agenda_client.post(f"/v1/activities/{a2['id']}/reschedule", json={
        "expected_version": 1, "starts_at": "2023-12-05T09:00:00+07:00",
        "ends_at": "2023-12-05T10:00:00+07:00"})
    assert r.status_code == 200, r.text
    r = await agenda_client.post(f"/v1/activities/{a1['id']}/report",
                                 json={"expected_version": 1})
    assert r.status_code == 200, r.text
    await post_all(agenda_client, "/v1/units", [unit("diskominfo")])
    await post_all(agenda_client, "/v1/activities",
                   [activity("diskominfo", "2023-11-15T09:00:00+07:00")])
    r = await agenda_client.post("/v1/units/dishub/deactivate", json={
        "active_until": "2023-10-31", "reason": "Digabung ke dinas lain"})
    assert r.status_code == 200, r.text
    await scoring_rebuild()

    again = await scoring_client.get("/v1/compliance.csv",
                                     params={"period": "2023-11", "as_of": moment})
    assert again.content == then
    past = (await scoring_client.get("/v1/compliance",
                                     params={"period": "2023-11", "as_of": moment})).json()
    assert {r["unit_code"]: r["counts"]["activities"] for r in past["units"]} == {
        "dinkes": 1, "dishub": 1}

    async def status(**params) -> str:
        r = await scoring_client.get("/v1/compliance/dinkes/evidence",
                                     params={"period": "2023-11", **params})
        return r.json()["activities"][0]["status"]

    assert await status(as_of=moment) == "planned"
    assert await status() == "held"

    latest = (await scoring_client.get("/v1/compliance", params={"period": "2023-11"})).json()
    assert {r["unit_code"]: r["counts"]["activities"] for r in latest["units"]} == {
        "dinkes": 1, "diskominfo": 1}

    # A bare date is the end of that day in WIB: nothing had been recorded in 2023.
    early = (await scoring_client.get("/v1/compliance",
                                      params={"period": "2023-11", "as_of": "2023-11-30"})).json()
    assert early["units_active"] == 0 and early["input_rate"] is None
