"""The agenda's HTTP API on a real database."""

from __future__ import annotations

import uuid

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
