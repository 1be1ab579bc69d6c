"""`/v1/webhooks` end to end: subscriptions (the secret shown once), the allowed hosts at
subscription time, a ticket's events at a real receiver in `seq` order and signed, the
deliveries with their attempts, and redelivery."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from store.engine import create_engine, create_sessionmaker
from tests.activities.webhook_support import dispatching, documented_verify
from tests.api.conftest import ADMIN, ALICE, SERVICE, settings_for
from tests.conftest import Mailbox, eventually
from tests.webhook_receiver import Receiver, receiving
from tests.workflows.harness import running_worker

TICKET = {
    "requester": {"email": "ana@example.com", "name": "Ana Novak", "plan": "professional"},
    "subject": "Cannot download my invoice",
    "description": "The invoice page shows an error.",
    "channel": "portal",
    "priority": "P2",
}


@pytest.fixture
async def http(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> AsyncIterator[httpx.AsyncClient]:
    """The API (allowed hosts as `make run` lists them), a worker and its webhook dispatcher."""
    settings = settings_for(database_url, task_queue, smtp[1]).model_copy(
        update={"webhook_allowed_hosts": "127.0.0.1,localhost"}
    )
    app = create_app(settings, temporal=time_env.client)
    engine = create_engine(database_url)
    try:
        async with (
            running_worker(time_env.client, task_queue, database_url, smtp[1]),
            dispatching(create_sessionmaker(engine)),
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as c,
        ):
            yield c
    finally:
        await engine.dispose()


async def _subscribe(http: httpx.AsyncClient, receiver: Receiver, **body: Any) -> dict[str, Any]:
    created = await http.post("/v1/webhooks", json={"url": receiver.url, **body}, headers=ADMIN)
    assert created.status_code == 201, created.text
    answer: dict[str, Any] = created.json()
    return answer


async def test_subscriptions_show_the_secret_once_and_only_to_admins(
    http: httpx.AsyncClient,
) -> None:
    with receiving() as receiver:
        hook = await _subscribe(http, receiver, event_types=["ticket.created"])
    secret = hook["secret"]
    assert secret.startswith("whsec_")
    assert len(secret) > 32
    listed = (await http.get("/v1/webhooks", headers=ADMIN)).json()
    assert [h["secret"] for h in listed] == [f"…{secret[-4:]}"]
    read = (await http.get(f"/v1/webhooks/{hook['id']}", headers=ADMIN)).json()
    assert secret not in str(read)
    changed = await http.patch(
        f"/v1/webhooks/{hook['id']}",
        json={"event_types": ["sla.breached", "csat.received"], "active": False},
        headers=ADMIN,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["event_types"] == ["sla.breached", "csat.received"]
    assert changed.json()["active"] is False
    assert secret not in changed.text
    rotated = await http.patch(
        f"/v1/webhooks/{hook['id']}", json={"secret": "a-new-secret-0123456789"}, headers=ADMIN
    )
    assert rotated.json()["secret"] == "a-new-secret-0123456789"  # set now: shown this once
    for headers in (SERVICE, ALICE):
        refused = await http.get("/v1/webhooks", headers=headers)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "forbidden"
    assert (await http.delete(f"/v1/webhooks/{hook['id']}", headers=ADMIN)).status_code == 204
    gone = await http.get(f"/v1/webhooks/{hook['id']}", headers=ADMIN)
    assert gone.status_code == 404
    assert gone.json() == {"error": {"code": "not_found", "message": "no such webhook"}}


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3/hook",  # private
        "http://169.254.169.254/latest/meta-data",  # link-local (cloud metadata)
        "http://[::1]:8080/hook",  # loopback, not listed
        "http://user:pw@127.0.0.1/hook",  # credentials in the URL
        "ftp://127.0.0.1/hook",
    ],
)
async def test_hosts_that_are_not_allowed_are_refused_at_subscription(
    http: httpx.AsyncClient, url: str
) -> None:
    refused = await http.post("/v1/webhooks", json={"url": url}, headers=ADMIN)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] in ("url_not_allowed", "validation_error")
    assert (await http.get("/v1/webhooks", headers=ADMIN)).json() == []


async def test_a_tickets_events_arrive_signed_in_order_and_can_be_redelivered(
    http: httpx.AsyncClient,
) -> None:
    verify = documented_verify()
    with receiving() as receiver:
        hook = await _subscribe(http, receiver)
        created = await http.post("/v1/tickets", json=TICKET, headers=SERVICE)
        assert created.status_code == 201, created.text
        ticket_id = created.json()["id"]
        reply = await http.post(
            f"/v1/tickets/{ticket_id}/reply", json={"body": "Fixed, try again."}, headers=ALICE
        )
        assert reply.status_code == 200, reply.text

        def types() -> list[str]:
            return [e["type"] for e in receiver.envelopes()]

        async def replied() -> bool:
            return {"ticket.status_changed", "ticket.replied"} <= set(types())

        await eventually(replied)
        envelopes = receiver.envelopes()
        assert types()[0] == "ticket.created"
        assert [e["seq"] for e in envelopes] == sorted({e["seq"] for e in envelopes})
        assert all(e["ticket_id"] == ticket_id for e in envelopes)
        assert all(
            verify(hook["secret"], r.headers["X-Ticketflow-Timestamp"],
                   r.headers["X-Ticketflow-Signature"], r.body)
            for r in receiver.requests
        )  # fmt: skip

        listed = await http.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=ADMIN)
        assert listed.status_code == 200
        deliveries = listed.json()
        first = deliveries[-1]  # newest first
        assert first["event_id"] == f"{ticket_id}:1"
        assert first["status"] == "delivered"
        [attempt] = first["attempt_log"]
        assert attempt["status_code"] == 200
        assert attempt["latency_ms"] >= 0
        assert attempt["error"] is None

        sent = len(receiver.requests)
        again = await http.post(
            f"/v1/webhooks/{hook['id']}/deliveries/{first['id']}/redeliver", headers=ADMIN
        )
        assert again.status_code == 202, again.text

        async def resent() -> bool:
            return len(receiver.requests) > sent

        await eventually(resent)
        assert receiver.envelopes()[-1]["id"] == f"{ticket_id}:1"  # the same event id

        # A redelivery still open (the subscription is paused) cannot be asked for twice.
        await http.patch(f"/v1/webhooks/{hook['id']}", json={"active": False}, headers=ADMIN)
        path = f"/v1/webhooks/{hook['id']}/deliveries/{first['id']}/redeliver"
        assert (await http.post(path, headers=ADMIN)).status_code == 202
        twice = await http.post(path, headers=ADMIN)
        assert twice.status_code == 409
        assert twice.json()["error"]["code"] == "delivery_open"
        missing = await http.post(
            f"/v1/webhooks/{hook['id']}/deliveries/999999/redeliver", headers=ADMIN
        )
        assert missing.status_code == 404
