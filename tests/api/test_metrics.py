"""`GET /v1/metrics/summary` over HTTP: roles, parameters and the response shape."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.routes import metrics
from store import repository
from store.engine import create_engine, create_sessionmaker
from tests.api.conftest import ADMIN, ALICE, SERVICE, serving, settings_for
from tests.store.test_reporting import ticket
from ticketflow.environment import free_port

URL = "/v1/metrics/summary"
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
async def http(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The API app (no worker: metrics only read the store) over a store with two tickets."""
    engine = create_engine(database_url)
    async with create_sessionmaker(engine).begin() as session:
        for tid, age in (("T1", timedelta(days=2)), ("T2", timedelta(days=40))):
            created = NOW - age
            values = ticket(tid, created, "open", "P2", "chat", "billing", "frontline")
            await repository.upsert_ticket(session, values=values)
    await engine.dispose()
    settings = settings_for(database_url, task_queue, free_port())
    app = create_app(settings, temporal=time_env.client)
    if not any(getattr(route, "path", None) == URL for route in app.routes):
        app.include_router(metrics.router)  # until api/app.py registers it
    async with serving(app) as client:
        yield client


async def test_an_agent_gets_the_summary_of_the_last_30_days(http: httpx.AsyncClient) -> None:
    response = await http.get(URL, headers=ALICE)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "window", "volume", "first_response", "resolution", "sla_compliance",
        "first_contact_resolution", "escalation_rate", "reopen_rate", "csat", "backlog",
    }  # fmt: skip
    window = body["window"]
    start, end = datetime.fromisoformat(window["from"]), datetime.fromisoformat(window["to"])
    assert end - start == timedelta(days=30)
    assert abs(end - datetime.now(UTC)) < timedelta(minutes=1)
    assert (window["team"], window["priority"], window["channel"]) == (None, None, None)
    # T1 was created 2 days ago; T2, 40 days ago, is outside the window but still open.
    assert body["volume"] == {
        "created": 1,
        "by_channel": {"email": 0, "chat": 1, "phone": 0, "portal": 0, "api": 0},
        "by_category": {"billing": 1},
    }
    assert body["first_response"] == {
        "count": 0, "median_seconds": None, "p90_seconds": None, "within_sla_percent": None
    }  # fmt: skip
    assert body["resolution"]["within_sla_percent"] == {"first_cycle": None, "all_cycles": None}
    assert set(body["sla_compliance"]) == {
        "first_response",
        "next_update",
        "resolution",
        "csat_followup",
    }
    assert body["escalation_rate"] == {"count": 0, "total": 1, "percent": 0.0}
    assert body["csat"]["average"] is None
    assert body["backlog"]["open"] == 2
    assert body["backlog"]["by_team"] == {"frontline": 2}


async def test_an_admin_filters_by_window_and_team(http: httpx.AsyncClient) -> None:
    params = {
        "from": (NOW - timedelta(days=60)).isoformat(),
        "to": NOW.isoformat(),
        "team": "frontline",
        "priority": "P2",
        "channel": "chat",
    }
    response = await http.get(URL, headers=ADMIN, params=params)

    assert response.status_code == 200
    body = response.json()
    assert body["window"]["team"] == "frontline"
    assert (body["window"]["priority"], body["window"]["channel"]) == ("P2", "chat")
    assert datetime.fromisoformat(body["window"]["from"]) == NOW - timedelta(days=60)
    assert body["volume"]["created"] == 2
    other_team = await http.get(URL, headers=ADMIN, params={**params, "team": "billing"})
    assert other_team.json()["volume"]["created"] == 0


async def test_a_service_token_is_refused(http: httpx.AsyncClient) -> None:
    response = await http.get(URL, headers=SERVICE)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert (await http.get(URL)).status_code == 401


@pytest.mark.parametrize(
    "params",
    [
        {"from": "yesterday"},
        {"from": "2026-11-08T00:00:00Z", "to": "2026-11-01T00:00:00Z"},
        {"priority": "P9"},
        {"to": "1555"},
    ],
    ids=["bad-from", "from-after-to", "bad-priority", "unix-seconds"],
)
async def test_bad_parameters_are_422(http: httpx.AsyncClient, params: dict[str, str]) -> None:
    response = await http.get(URL, headers=ALICE, params=params)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
