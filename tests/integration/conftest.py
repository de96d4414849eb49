from __future__ import annotations

import pytest

from services.agenda import bootstrap as agenda_bootstrap
from tests.conftest import settings_for


@pytest.fixture
async def agenda_db(databases) -> str:
    return await databases.fresh("agenda", agenda_bootstrap.migrate)


@pytest.fixture
async def agenda(agenda_db, amqp_url):
    service = await agenda_bootstrap.build(settings_for("agenda", agenda_db, amqp_url),
                                           run_migrations=False)
    yield service
    await service.close()


@pytest.fixture
async def agenda_client(agenda):
    import httpx

    from services.agenda.api import create_app

    app = create_app(agenda)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://agenda") as client:
        yield client
