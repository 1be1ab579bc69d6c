"""Helpers of the Facturino and Easy e-Invoice scenarios on top of `tests.packs.desk`: a
ticket opened at a chosen instant as intake admits it, the clock moved to an instant, the
escalations on a ticket's timeline, the messages one address received."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from domain.enums import EventType
from domain.intake.admission import admit
from domain.ticket.requests import TicketCreate
from tests.conftest import Mailbox
from tests.packs.desk import Desk, recipient
from tests.workflows.harness import store_events


async def open_ticket(
    desk: Desk, ticket_id: str, created_at: datetime, body: dict[str, Any]
) -> WorkflowHandle[Any, Any]:
    """`POST /v1/tickets` at `created_at`: the request admitted by the pack's vocabulary
    (default plan, channel entitlement), then routed and snapshotted (`Desk.start`)."""
    request = admit(desk.policy.vocabulary, TicketCreate.model_validate(body))
    await desk.start(ticket_id, created_at, request)
    return desk.env.client.get_workflow_handle(ticket_id)


async def skip_to(env: WorkflowEnvironment, moment: datetime) -> None:
    """Let the test server's clock run to `moment` (timers fire on the way)."""
    now = await env.get_current_time()
    if moment > now:
        await env.sleep(moment - now)


async def escalations(database_url: str, ticket_id: str) -> list[tuple[int, int, str, datetime]]:
    """(from, to, trigger, at) of every escalation on the ticket's timeline."""
    return [
        (e.data["from"], e.data["to"], e.data["trigger"], e.at.replace(tzinfo=UTC))
        for e in await store_events(database_url, ticket_id)
        if e.type == EventType.ESCALATED
    ]


def sent_to(box: Mailbox, address: str) -> list[EmailMessage]:
    return [m for m in box.messages if recipient(m) == address.lower()]


async def received(box: Mailbox, address: str, count: int = 1) -> bool:
    """For `eventually`: `address` has at least `count` messages."""
    return len(sent_to(box, address)) >= count
