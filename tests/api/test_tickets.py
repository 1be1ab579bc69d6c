"""The HTTP contract of intake, reading and reply, end to end through Temporal."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from api.app import create_app
from tests.api.conftest import ALICE, SERVICE, Api, settings_for
from ticketflow.environment import free_port


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "requester": {"email": "ana@example.com", "name": "Ana Novak", "plan": "professional"},
        "subject": "Cannot download my invoice",
        "description": "The invoice page shows an error.",
        "channel": "portal",
        "priority": "P2",
    }
    body.update(overrides)
    return body


def _error(response: httpx.Response) -> dict[str, str]:
    payload = response.json()
    assert set(payload) == {"error"}, payload
    error: dict[str, str] = payload["error"]
    assert set(error) == {"code", "message"}
    return error


async def test_create_read_reply(api: Api) -> None:
    created = await api.http.post("/v1/tickets", json=_body(), headers=SERVICE)
    assert created.status_code == 201, created.text
    ticket = created.json()
    ticket_id = ticket["id"]
    assert ticket_id.startswith("TKT-")
    assert created.headers["location"] == f"/v1/tickets/{ticket_id}"
    assert ticket["status"] == "new"
    clock = ticket["sla"]["first_response"]
    assert clock["state"] == "running"
    assert set(clock) >= {
        "state",
        "due_at",
        "target_seconds",
        "business_seconds_left",
        "breached_at",
        "met_at",
    }
    [ack] = await api.mailbox.wait_for(1)
    assert f"[{ticket_id}]" in ack["Subject"]

    read = await api.http.get(f"/v1/tickets/{ticket_id}", headers=ALICE)
    assert read.status_code == 200
    assert read.json()["id"] == ticket_id

    replied = await api.http.post(
        f"/v1/tickets/{ticket_id}/reply", json={"body": "Please try again now."}, headers=ALICE
    )
    assert replied.status_code == 200, replied.text
    assert replied.json()["status"] == "open"
    assert replied.json()["sla"]["first_response"]["state"] == "met"
    messages = await api.mailbox.wait_for(2)
    assert "Please try again now." in messages[1].get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]


async def test_ticket_ids_are_sequential_and_unique(api: Api) -> None:
    ids = []
    for _ in range(3):
        response = await api.http.post("/v1/tickets", json=_body(), headers=SERVICE)
        ids.append(response.json()["id"])
    assert len(set(ids)) == 3
    numbers = [int(i.split("-")[1]) for i in ids]
    assert numbers == sorted(numbers)


async def test_idempotency_key_repeat_returns_the_same_ticket_and_sends_nothing(api: Api) -> None:
    headers = {**SERVICE, "Idempotency-Key": "order-123"}
    first = await api.http.post("/v1/tickets", json=_body(), headers=headers)
    await api.mailbox.wait_for(1)
    again = await api.http.post("/v1/tickets", json=_body(), headers=headers)
    other = await api.http.post("/v1/tickets", json=_body(subject="Other"), headers=headers)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert other.status_code == 409
    assert _error(other)["code"] == "idempotency_conflict"
    # Only the first request's acknowledgment: nothing was started twice.
    with pytest.raises(TimeoutError):
        await api.mailbox.wait_for(2, timeout=2)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"subject": "Hello\r\nBcc: victim@example.com"}, "subject"),
        ({"subject": "x" * 201}, "subject"),
        ({"description": "é" * 40000}, "description"),
        ({"channel": "fax"}, "channel"),
        ({"priority": "P9"}, "priority"),
        ({"requester": {"email": "not-an-email"}}, "requester.email"),
        ({"requester": {"email": "a@example.com", "name": "Eve\nBcc: x@y.z"}}, "requester.name"),
        ({"requester": {"email": "a@example.com", "plan": "gold"}}, "requester.plan"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
async def test_invalid_bodies_get_422_naming_the_field(
    api: Api, change: dict[str, Any], field: str
) -> None:
    response = await api.http.post("/v1/tickets", json=_body(**change), headers=SERVICE)
    assert response.status_code == 422
    error = _error(response)
    assert error["code"] == "validation_error"
    assert error["message"].startswith(f"{field}:") or f"; {field}:" in error["message"]


async def test_body_over_one_mebibyte_is_413(api: Api) -> None:
    huge = _body(description="x" * (1024 * 1024 + 10))
    response = await api.http.post("/v1/tickets", json=huge, headers=SERVICE)
    assert response.status_code == 413
    assert _error(response)["code"] == "payload_too_large"


async def test_auth_missing_unknown_and_wrong_role(api: Api) -> None:
    missing = await api.http.post("/v1/tickets", json=_body())
    unknown = await api.http.post(
        "/v1/tickets", json=_body(), headers={"Authorization": "Bearer nope"}
    )
    wrong_role = await api.http.post("/v1/tickets", json=_body(), headers=ALICE)
    assert (missing.status_code, unknown.status_code, wrong_role.status_code) == (401, 401, 403)
    assert _error(missing)["code"] == "unauthorized"
    assert _error(wrong_role)["code"] == "forbidden"
    reply_as_service = await api.http.post(
        "/v1/tickets/TKT-000001/reply", json={"body": "hi"}, headers=SERVICE
    )
    assert reply_as_service.status_code == 403


async def test_unknown_ticket_is_404(api: Api) -> None:
    response = await api.http.get("/v1/tickets/TKT-999999", headers=ALICE)
    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"
    reply = await api.http.post("/v1/tickets/TKT-999999/reply", json={"body": "hi"}, headers=ALICE)
    assert reply.status_code == 404


async def test_health_needs_no_token(api: Api) -> None:
    assert (await api.http.get("/healthz")).json() == {"status": "ok"}
    ready = await api.http.get("/readyz")
    assert ready.status_code == 200, ready.text


async def test_unreachable_temporal_and_store_are_503(sqlite_url: str, tmp_path: Any) -> None:
    dead_temporal = await Client.connect(
        f"127.0.0.1:{free_port()}", data_converter=pydantic_data_converter, lazy=True
    )
    settings = settings_for(sqlite_url, "tq", free_port())
    app = create_app(settings, temporal=dead_temporal)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http,
    ):
        created = await http.post("/v1/tickets", json=_body(), headers=SERVICE)
        read = await http.get("/v1/tickets/TKT-000001", headers=ALICE)
        ready = await http.get("/readyz")
    assert created.status_code == 503, created.text
    assert read.status_code == 503
    assert "Traceback" not in created.text
    assert _error(created)["code"] == "temporal_unavailable"
    assert ready.status_code == 503
    assert ready.json()["checks"]["store"] == "ok"

    # A store that cannot be opened: a directory where the database file should be.
    (tmp_path / "db-is-a-dir").mkdir()
    broken = settings_for(f"sqlite+aiosqlite:///{tmp_path / 'db-is-a-dir'}", "tq", free_port())
    app = create_app(broken, temporal=dead_temporal)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http,
    ):
        created = await http.post("/v1/tickets", json=_body(), headers=SERVICE)
    assert created.status_code == 503, created.text
    assert _error(created)["code"] == "store_unavailable"
