"""Approvals over HTTP: an agent asks, the ticket goes on hold, the approver at the right
rung sees it pending and decides it; the wrong role is refused (403), a second decision is
refused (409), a denial needs a reason (422), and the report counts it all."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from runtime.settings import Settings
from tests.api.conftest import ALICE, SERVICE, Api, serving, settings_for
from tests.conftest import Mailbox, eventually
from tests.workflows.harness import running_worker

TOKENS = (
    "svc:service,alice-token:agent:alice,admin-token:admin,"
    "judy-token:support_manager:judy,frida-token:finance_director:frida"
)
JUDY = {"Authorization": "Bearer judy-token"}
FRIDA = {"Authorization": "Bearer frida-token"}


@pytest.fixture
async def approvals_api(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> AsyncIterator[Api]:
    box, port = smtp
    base = settings_for(database_url, task_queue, port)
    settings = Settings.model_validate(
        {
            "DATABASE_URL": database_url,
            "TEMPORAL_TASK_QUEUE": task_queue,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": port,
            "TICKETFLOW_TOKENS": TOKENS,
            "MAIL_FROM": base.mail_from,
        }
    )
    app = create_app(settings, temporal=time_env.client)
    async with (
        running_worker(time_env.client, task_queue, database_url, port),
        serving(app) as http,
    ):
        yield Api(http=http, mailbox=box, database_url=database_url, client=time_env.client)


async def _ticket(api: Api) -> str:
    body: dict[str, Any] = {
        "requester": {"email": "ana@example.com", "name": "Ana", "plan": "professional"},
        "subject": "Charged after cancelling",
        "description": "I was charged again after I cancelled.",
        "channel": "email",
        "priority": "P3",
    }
    response = await api.http.post("/v1/tickets", json=body, headers=SERVICE)
    assert response.status_code == 201, response.text
    ticket_id: str = response.json()["id"]
    return ticket_id


async def test_a_refund_request_waits_on_a_manager_who_approves_it(approvals_api: Api) -> None:
    api = approvals_api
    ticket_id = await _ticket(api)
    purchased = (datetime.now(UTC) - timedelta(days=45)).date().isoformat()
    body = {"amount": "600", "currency": "USD", "reason": "Charged twice", "kind": "refund",
            "purchase_date": purchased}  # fmt: skip
    asked = await api.http.post(
        f"/v1/tickets/{ticket_id}/refund-requests", json=body, headers=ALICE
    )
    assert asked.status_code == 201, asked.text
    approval = asked.json()
    assert approval["id"] == f"{ticket_id}-R1"
    assert (approval["approver_role"], approval["status"]) == ("support_manager", "pending")
    ticket = await api.http.get(f"/v1/tickets/{ticket_id}", headers=ALICE)
    assert ticket.json()["status"] == "on_hold"
    assert ticket.json()["approvals_pending"] == [approval["id"]]

    async def listed() -> bool:
        found = await api.http.get("/v1/approvals?status=pending", headers=JUDY)
        return [a["id"] for a in found.json()["items"]] == [approval["id"]]

    await eventually(listed)
    paged = (await api.http.get("/v1/approvals?status=pending&limit=1", headers=JUDY)).json()
    assert ([a["id"] for a in paged["items"]], paged["next_cursor"]) == ([approval["id"]], None)
    forged = await api.http.get("/v1/approvals?cursor=forged", headers=JUDY)
    assert forged.status_code == 422, forged.text
    mine = await api.http.get("/v1/approvals?status=pending", headers=ALICE)
    assert mine.status_code == 200
    assert mine.json()["items"] == []

    refused = await api.http.post(f"/v1/approvals/{approval['id']}/approve", json={}, headers=ALICE)
    assert refused.status_code == 403, refused.text
    service = await api.http.post(
        f"/v1/approvals/{approval['id']}/approve", json={}, headers=SERVICE
    )
    assert service.status_code == 403
    no_reason = await api.http.post(
        f"/v1/approvals/{approval['id']}/deny", json={"comment": ""}, headers=JUDY
    )
    assert no_reason.status_code == 422

    approved = await api.http.post(
        f"/v1/approvals/{approval['id']}/approve", json={"comment": "ok"}, headers=JUDY
    )
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["decided_by"]) == ("approved", "agent:judy")
    again = await api.http.post(
        f"/v1/approvals/{approval['id']}/deny", json={"comment": "no"}, headers=FRIDA
    )
    assert again.status_code == 409, again.text

    async def settled() -> bool:
        found = await api.http.get(f"/v1/approvals/{approval['id']}", headers=JUDY)
        return bool(found.json()["execution"] == "settled")

    await eventually(settled)

    async def reopened() -> bool:
        found = await api.http.get(f"/v1/tickets/{ticket_id}", headers=ALICE)
        return bool(found.json()["status"] == "open")

    await eventually(reopened)
    ticket = await api.http.get(f"/v1/tickets/{ticket_id}", headers=ALICE)
    assert ticket.json()["approvals_pending"] == []
    report = await api.http.get("/v1/metrics/approvals", headers=ALICE)
    assert report.status_code == 200, report.text
    figures = report.json()
    assert figures["requested"] == 1
    assert figures["by_kind"] == {"refund": 1}
    [outcome] = figures["outcomes"]
    assert (outcome["level"], outcome["outcome"], outcome["count"]) == (
        "support_manager", "approved", 1,
    )  # fmt: skip
    assert figures["refund_rate_percent"] == 100.0
    assert figures["decision_median_seconds"] is not None


async def test_an_unknown_approval_is_404_and_approver_tokens_need_an_agent_id(
    approvals_api: Api,
) -> None:
    response = await approvals_api.http.post(
        "/v1/approvals/TKT-999999-R1/approve", json={}, headers=JUDY
    )
    assert response.status_code == 404
    from api.auth import TokenConfigError, parse_tokens

    with pytest.raises(TokenConfigError, match="support_manager token needs an agent id"):
        parse_tokens("t:support_manager")
    assert parse_tokens("t:finance_director:frida")["t"].agent_id == "frida"
