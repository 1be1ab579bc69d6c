"""`Idempotency-Key` on actions: a repeat returns the first result and changes and sends nothing.

Real Temporal test server, worker, store and SMTP; the key becomes the Temporal Update id.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import delete

from store.engine import create_engine, create_sessionmaker
from store.models import InboundMessage
from tests.api.conftest import ALICE, SERVICE, Api
from tests.conftest import eventually


def _ticket(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "requester": {"email": "ana@example.com", "name": "Ana", "plan": "starter"},
        "subject": "Export fails",
        "description": "The CSV export stops halfway.",
        "channel": "email",
        "priority": "P3",
    }
    body.update(overrides)
    return body


async def _create(api: Api) -> str:
    response = await api.http.post("/v1/tickets", json=_ticket(), headers=SERVICE)
    assert response.status_code == 201, response.text
    ticket_id: str = response.json()["id"]
    return ticket_id


def _headers(action: str, key: str | None) -> dict[str, str]:
    who = SERVICE if action in ("customer-reply", "csat") else ALICE
    return {**who, "Idempotency-Key": key} if key is not None else who


async def _post(
    api: Api, ticket_id: str, action: str, body: dict[str, Any], key: str | None
) -> httpx.Response:
    return await api.http.post(
        f"/v1/tickets/{ticket_id}/{action}", json=body, headers=_headers(action, key)
    )


def _settled(ticket: dict[str, Any]) -> dict[str, Any]:
    """The answer without what is computed at reading time (business seconds left)."""
    clocks = {
        metric: {k: v for k, v in clock.items() if k != "business_seconds_left"}
        for metric, clock in ticket["sla"].items()
    }
    return {**ticket, "sla": clocks}


async def _events(api: Api, ticket_id: str) -> list[dict[str, Any]]:
    response = await api.http.get(f"/v1/tickets/{ticket_id}/events", headers=ALICE)
    if response.status_code == 404:  # not projected yet
        return []
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _timeline_through(api: Api, ticket_id: str, seq: int) -> list[dict[str, Any]]:
    """The timeline once event `seq` is in the store (events are recorded in order)."""

    async def recorded() -> bool:
        return any(e["seq"] >= seq for e in await _events(api, ticket_id))

    await eventually(recorded)
    return await _events(api, ticket_id)


async def test_a_repeated_reply_is_applied_once_and_emailed_once(api: Api) -> None:
    ticket_id = await _create(api)
    await api.mailbox.wait_for(1)  # the acknowledgment
    reply = {"body": "Please try the export again now."}
    first = await _post(api, ticket_id, "reply", reply, "retry-7f3a")
    again = await _post(api, ticket_id, "reply", reply, "retry-7f3a")
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert _settled(again.json()) == _settled(first.json())
    # A later event: once it is in the store, a second reply would be there too.
    note = await _post(api, ticket_id, "note", {"body": "checked"}, None)
    assert note.status_code == 200, note.text
    events = await _timeline_through(api, ticket_id, note.json()["last_event_seq"])
    assert [e["type"] for e in events].count("agent_reply") == 1
    messages = await api.mailbox.wait_for(2)
    with pytest.raises(TimeoutError):
        await api.mailbox.wait_for(3, timeout=2)
    assert "Please try the export again now." in str(messages[1].get_body(("plain",)))


async def test_concurrent_repeats_are_one_action(api: Api) -> None:
    ticket_id = await _create(api)
    burst = [_post(api, ticket_id, "note", {"body": "seen"}, "burst-1") for _ in range(5)]
    responses = await asyncio.gather(*burst)
    assert {r.status_code for r in responses} == {200}, [r.text for r in responses]
    assert {r.json()["last_event_seq"] for r in responses} == {2}
    now = await api.http.get(f"/v1/tickets/{ticket_id}", headers=ALICE)
    assert now.json()["last_event_seq"] == 2


async def test_every_action_repeated_with_its_key_changes_nothing(api: Api) -> None:
    ticket_id = await _create(api)
    steps: list[tuple[str, dict[str, Any], str]] = [
        ("note", {"body": "internal"}, "new"),
        ("assign", {"agent_id": "bob"}, "open"),
        ("reply", {"body": "Looking into it"}, "open"),
        ("request-info", {"body": "Which file?"}, "awaiting_customer"),
        ("customer-reply", {"body": "report.csv"}, "open"),
        ("priority", {"priority": "P2", "reason": "several customers"}, "open"),
        ("escalate", {"reason": "needs engineering"}, "open"),
        ("hold", {"reason": "bank API outage"}, "on_hold"),
        ("resolve", {"resolution": "Bank is back"}, "resolved"),
        ("reopen", {"reason": "still broken"}, "open"),
        ("resolve", {"resolution": "Patched"}, "resolved"),
        ("csat", {"score": 5}, "resolved"),
        ("close", {}, "closed"),
    ]
    for step, (action, body, status) in enumerate(steps):
        key = f"step-{step}"
        first = await _post(api, ticket_id, action, body, key)
        assert first.status_code == 200, (action, first.text)
        assert first.json()["status"] == status, action
        again = await _post(api, ticket_id, action, body, key)
        assert again.status_code == 200, (action, again.text)
        assert _settled(again.json()) == _settled(first.json()), action
    last_seq = first.json()["last_event_seq"]
    now = await api.http.get(f"/v1/tickets/{ticket_id}", headers=ALICE)
    assert now.json()["last_event_seq"] == last_seq
    events = await _timeline_through(api, ticket_id, last_seq)
    assert [e["seq"] for e in events] == list(range(1, last_seq + 1))
    for kind in ("note", "agent_reply", "info_requested", "customer_reply", "priority_changed"):
        assert [e["type"] for e in events].count(kind) == 1, kind
    assert [e["type"] for e in events].count("resolved") == 2


async def test_the_same_key_on_another_action_or_ticket_is_applied(api: Api) -> None:
    ticket_id = await _create(api)
    other_id = await _create(api)
    key = "one-key-for-everything"
    replied = await _post(api, ticket_id, "reply", {"body": "On it"}, key)
    noted = await _post(api, ticket_id, "note", {"body": "internal"}, key)
    resolved = await _post(api, ticket_id, "resolve", {"resolution": "Fixed"}, key)
    elsewhere = await _post(api, other_id, "reply", {"body": "On it too"}, key)
    for response in (replied, noted, resolved, elsewhere):
        assert response.status_code == 200, response.text
    assert replied.json()["status"] == "open"
    assert noted.json()["last_event_seq"] > replied.json()["last_event_seq"]
    assert resolved.json()["status"] == "resolved"
    assert elsewhere.json()["id"] == other_id
    assert elsewhere.json()["status"] == "open"
    events = await _timeline_through(api, ticket_id, resolved.json()["last_event_seq"])
    assert {"agent_reply", "note", "resolved"} <= {e["type"] for e in events}


async def test_a_refused_action_is_not_remembered(api: Api) -> None:
    ticket_id = await _create(api)
    refused = await _post(api, ticket_id, "close", {}, "close-1")
    assert refused.status_code == 409, refused.text
    await _post(api, ticket_id, "resolve", {"resolution": "Fixed"}, None)
    closed = await _post(api, ticket_id, "close", {}, "close-1")
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"


async def test_a_repeated_customer_reply_is_applied_once(api: Api) -> None:
    ticket_id = await _create(api)
    reply = {"body": "It fails on row 5000."}
    first = await _post(api, ticket_id, "customer-reply", reply, "gateway-81")
    again = await _post(api, ticket_id, "customer-reply", reply, "gateway-81")
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert _settled(again.json()) == _settled(first.json())
    note = await _post(api, ticket_id, "note", {"body": "seen"}, None)
    events = await _timeline_through(api, ticket_id, note.json()["last_event_seq"])
    assert [e["type"] for e in events].count("customer_reply") == 1


async def test_a_repeated_customer_reply_to_a_closed_ticket_opens_one_follow_up(
    api: Api,
) -> None:
    ticket_id = await _create(api)
    for action, body in (("resolve", {"resolution": "Done"}), ("close", {})):
        assert (await _post(api, ticket_id, action, body, None)).status_code == 200
    reply = {"body": "One more thing"}
    first = await _post(api, ticket_id, "customer-reply", reply, "gateway-82")
    again = await _post(api, ticket_id, "customer-reply", reply, "gateway-82")
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    follow_up = first.json()["id"]
    assert follow_up != ticket_id
    assert again.json()["id"] == follow_up
    assert again.headers["Location"] == f"/v1/tickets/{follow_up}"
    # The same key on another closed ticket is another follow-up.
    other_id = await _create(api)
    for action, body in (("resolve", {"resolution": "Done"}), ("close", {})):
        assert (await _post(api, other_id, action, body, None)).status_code == 200
    elsewhere = await _post(api, other_id, "customer-reply", reply, "gateway-82")
    assert elsewhere.status_code == 201, elsewhere.text
    assert elsewhere.json()["id"] not in (follow_up, other_id)


async def test_an_email_retried_after_its_claim_was_lost_opens_one_follow_up(api: Api) -> None:
    """The follow-up of an email is created under a key derived from its Message-ID: even when
    the Message-ID claim is gone (the request died after starting the follow-up and its claim
    was released), the gateway's retry finds the follow-up instead of opening another."""
    ticket_id = await _create(api)
    for action, body in (("resolve", {"resolution": "Done"}), ("close", {})):
        assert (await _post(api, ticket_id, action, body, None)).status_code == 200
    mail = {
        "from": "Ana <ana@example.com>",
        "to": ["Support <support@desk.example>"],
        "subject": f"Re: [{ticket_id}] Export fails",
        "text": "It broke again.",
        "message_id": f"<{uuid.uuid4()}@mail.example.com>",
    }
    first = await api.http.post("/v1/inbound/email", json=mail, headers=SERVICE)
    assert first.status_code == 201, first.text
    assert first.json()["outcome"] == "follow_up"
    engine = create_engine(api.database_url)
    try:
        async with create_sessionmaker(engine).begin() as session:
            await session.execute(
                delete(InboundMessage).where(InboundMessage.message_id == mail["message_id"])
            )
    finally:
        await engine.dispose()
    again = await api.http.post("/v1/inbound/email", json=mail, headers=SERVICE)
    assert again.status_code == 201, again.text
    assert again.json() == first.json()


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("k" * 201, id="too-long"),
        pytest.param("", id="empty"),
        pytest.param("  ", id="blank"),
    ],
)
async def test_invalid_idempotency_keys_are_422(api: Api, key: str) -> None:
    ticket_id = await _create(api)
    for path, body, who in (
        (f"/v1/tickets/{ticket_id}/reply", {"body": "x"}, ALICE),
        (f"/v1/tickets/{ticket_id}/customer-reply", {"body": "x"}, SERVICE),
        ("/v1/tickets", _ticket(), SERVICE),
    ):
        response = await api.http.post(path, json=body, headers={**who, "Idempotency-Key": key})
        assert response.status_code == 422, (path, response.text)
        error = response.json()["error"]
        assert error["code"] == "validation_error"
        assert error["message"].startswith("Idempotency-Key: "), error


async def test_a_non_ascii_idempotency_key_is_422(api: Api) -> None:
    ticket_id = await _create(api)
    headers = [
        (b"authorization", b"Bearer alice-token"),
        (b"idempotency-key", "clé-1".encode("latin-1")),
    ]
    response = await api.http.post(
        f"/v1/tickets/{ticket_id}/reply", json={"body": "x"}, headers=headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["message"].startswith("Idempotency-Key: ")
