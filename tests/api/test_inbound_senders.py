"""Who may write into a ticket by email, and mail that must not be answered: end to end with
the real Temporal test server, worker, store and SMTP server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from domain.ticket.state import TicketState
from runtime.settings import DEFAULT_POLICY_FILE
from tests.api.conftest import ALICE, SERVICE, Api, inbound_mail, serving, settings_for
from tests.conftest import Mailbox
from tests.workflows.harness import running_worker
from workflows.ticket import TicketWorkflow

INBOUND = "/v1/inbound/email"
ANA = "Ana Novak <ana@example.com>"
MALLORY = "Mallory <mallory@evil.example>"


async def post(http: httpx.AsyncClient, body: dict[str, Any], expect: int) -> dict[str, Any]:
    response = await http.post(INBOUND, json=body, headers=SERVICE)
    assert response.status_code == expect, response.text
    answer: dict[str, Any] = response.json()
    return answer


def recipients(messages: list[EmailMessage]) -> list[str]:
    return [m["To"].addresses[0].addr_spec for m in messages]


async def state(api: Api, ticket_id: str) -> TicketState:
    return await api.client.get_workflow_handle(ticket_id).query(TicketWorkflow.state)


def facts(ticket: TicketState) -> tuple[Any, ...]:
    """What any write into a ticket changes: its timeline, status, level and last update."""
    return (ticket.last_seq, ticket.status, ticket.escalation_level, ticket.updated_at)


async def opened_by_ana(api: Api) -> tuple[str, str]:
    """A ticket from Ana and the Message-ID of its acknowledgment."""
    created = await post(api.http, inbound_mail(), 201)
    [ack] = await api.mailbox.wait_for(1)
    return created["ticket_id"], str(ack["Message-ID"])


def spoof(ticket_id: str, ack_id: str) -> dict[str, Any]:
    """A stranger's reply naming the ticket every way threading looks: tag and In-Reply-To."""
    return inbound_mail(
        MALLORY,
        subject=f"Re: [{ticket_id}] Export fails",
        text="I am the manager: reopen and escalate this now.",
        in_reply_to=ack_id,
        references=ack_id,
    )


async def test_a_spoofed_reply_changes_nothing_on_the_ticket_and_opens_its_own(api: Api) -> None:
    ticket_id, ack_id = await opened_by_ana(api)
    before = facts(await state(api, ticket_id))
    answer = await post(api.http, spoof(ticket_id, ack_id), 201)
    assert answer["outcome"] == "created"
    assert answer["reason"] == "unknown_sender"
    assert answer["ticket_id"] != ticket_id
    assert facts(await state(api, ticket_id)) == before
    own = await state(api, answer["ticket_id"])
    assert own.requester.email == "mallory@evil.example"
    assert own.tags == ["unverified-sender"]
    # The requester herself still threads, however her address is spelled.
    subject = f"Re: [{ticket_id}] Export fails"
    reply = inbound_mail("ANA@Example.com", subject=subject, text="Row 5000.")
    assert await post(api.http, reply, 200) == {"ticket_id": ticket_id, "outcome": "threaded"}
    assert facts(await state(api, ticket_id)) != before


async def test_automatic_mail_is_recorded_and_acted_on_by_nothing_that_sends(api: Api) -> None:
    """Ana's auto-responder answers our acknowledgment, a list robot and our own address
    write in: nothing threads, nothing opens, nothing is sent, so no two robots can loop."""
    ticket_id, ack_id = await opened_by_ana(api)
    before = facts(await state(api, ticket_id))
    auto_reply = inbound_mail(
        subject=f"Automatic reply: [{ticket_id}] Export fails",
        text="I am out of the office until Monday.",
        in_reply_to=ack_id,
        headers={"Auto-Submitted": "auto-replied"},
    )
    assert await post(api.http, auto_reply, 200) == {
        "outcome": "ignored",
        "reason": "auto_submitted",
    }
    bulk = inbound_mail("News <news@list.example>", headers={"precedence": "Bulk"})
    assert await post(api.http, bulk, 200) == {"outcome": "ignored", "reason": "bulk"}
    ours = inbound_mail("Support <SUPPORT@desk.example>", subject="Re: [TKT-000001] Export fails")
    assert await post(api.http, ours, 200) == {"outcome": "ignored", "reason": "own_address"}
    repeat = await post(api.http, auto_reply, 200)
    assert repeat == {"outcome": "duplicate"}
    assert facts(await state(api, ticket_id)) == before

    # A person's mail after them (`Auto-Submitted: no` is a person) is answered: once its
    # acknowledgment is in, every message sent is in too, and it is the second only.
    person = inbound_mail("Bo <bo@example.com>", headers={"Auto-Submitted": "no"})
    opened = await post(api.http, person, 201)
    messages = await api.mailbox.wait_for(2)
    assert [m["To"].addresses[0].addr_spec for m in messages] == [
        "ana@example.com",
        "bo@example.com",
    ]
    listed = (await api.http.get("/v1/tickets", headers=ALICE)).json()["items"]
    assert sorted(t["id"] for t in listed) == sorted([ticket_id, opened["ticket_id"]])


@pytest.fixture(params=["reject", "quarantine"])
async def strict(
    request: pytest.FixtureRequest,
    time_env: WorkflowEnvironment,
    task_queue: str,
    sqlite_url: str,
    smtp: tuple[Mailbox, int],
    tmp_path: Path,
) -> AsyncIterator[tuple[str, Api]]:
    """The API with `inbound.unknown_sender` set to the param."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        DEFAULT_POLICY_FILE.read_text() + f"\ninbound:\n  unknown_sender: {request.param}\n"
    )
    box, port = smtp
    settings = settings_for(sqlite_url, task_queue, port).model_copy(update={"policy_file": policy})
    app = create_app(settings, temporal=time_env.client)
    async with (
        running_worker(time_env.client, task_queue, sqlite_url, port),
        serving(app) as http,
    ):
        yield (
            request.param,
            Api(http=http, mailbox=box, database_url=sqlite_url, client=time_env.client),
        )


async def test_the_policy_rejects_or_quarantines_a_stranger_s_reply(
    strict: tuple[str, Api],
) -> None:
    policy, api = strict
    ticket_id, ack_id = await opened_by_ana(api)
    before = facts(await state(api, ticket_id))
    if policy == "reject":
        answer = await post(api.http, spoof(ticket_id, ack_id), 200)
        assert answer == {"outcome": "rejected", "reason": "unknown_sender"}
    else:
        answer = await post(api.http, spoof(ticket_id, ack_id), 201)
        assert answer["outcome"] == "quarantined"
        assert answer["reason"] == "unknown_sender"
        held = await state(api, answer["ticket_id"])
        assert held.tags == ["quarantine"]
        assert held.thread_message_id is None  # no acknowledgment was decided
    assert facts(await state(api, ticket_id)) == before
    # Only Ana's acknowledgment and the next person's were sent.
    await post(api.http, inbound_mail("Bo <bo@example.com>"), 201)
    messages = await api.mailbox.wait_for(2)
    assert [m["To"].addresses[0].addr_spec for m in messages] == [
        "ana@example.com",
        "bo@example.com",
    ]
