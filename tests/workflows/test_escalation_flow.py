"""The issue's scenario end to end on the time-skipping server, with real SMTP: an unanswered
P2 ticket climbs L1 -> L2 -> L3 by itself, each step one internal alert and one customer
notice in the customer's language, every email exactly once."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

from temporalio.testing import WorkflowEnvironment

from domain.enums import EventType
from store.engine import create_engine, create_sessionmaker
from store.repository import list_events
from tests.conftest import Mailbox, eventually
from tests.workflows.harness import request, running_worker, started
from workflows.ticket import TicketWorkflow, TicketWorkflowInput


def _next_monday_10(now: datetime) -> datetime:
    days = (7 - now.weekday()) % 7 or 7
    return (now + timedelta(days=days)).replace(hour=10, minute=0, second=0, microsecond=0)


async def test_unanswered_p2_escalates_l1_l2_l3_in_the_customers_language(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    env = time_env
    monday = _next_monday_10(await env.get_current_time())
    now = await env.get_current_time()
    await env.sleep(monday - now)
    ticket_id = f"TKT-{uuid.uuid4().hex[:8]}"
    body = request(priority="P2", subject="Eksport gagal", description="Eksport CSV gagal.")
    body = body.model_copy(
        update={"requester": body.requester.model_copy(update={"language": "ms"})}
    )
    start = started(ticket_id, monday, body)
    async with running_worker(env.client, task_queue, database_url, port):
        await env.client.start_workflow(
            TicketWorkflow.run,
            TicketWorkflowInput(started=start),
            id=ticket_id,
            task_queue=task_queue,
        )
        # Through Monday 18:00: first response breach at 12:00, 4 h unresolved at 14:00,
        # 8 h unresolved at 18:00.
        await env.sleep(timedelta(hours=8, minutes=5))
        engine = create_engine(database_url)

        async def three_levels() -> bool:
            async with create_sessionmaker(engine)() as session:
                events = await list_events(session, ticket_id=ticket_id)
            return sum(e.type == EventType.ESCALATED for e in events) == 3

        await eventually(three_levels)
        async with create_sessionmaker(engine)() as session:
            events = await list_events(session, ticket_id=ticket_id)
        await engine.dispose()
        await eventually(lambda: _count_at_least(box, 10))
        await env.sleep(timedelta(minutes=30))  # anything duplicated would arrive now
    raised = [
        (e.data["to"], e.data["trigger"], e.at.replace(tzinfo=UTC))
        for e in events
        if e.type == EventType.ESCALATED
    ]
    assert raised == [
        (1, "breach:first_response", monday + timedelta(hours=2)),
        (2, "unresolved", monday + timedelta(hours=4)),
        (3, "unresolved", monday + timedelta(hours=8)),
    ]
    recipients = Counter(str(m["To"]).split("<")[-1].rstrip(">") for m in box.messages)
    # Internal, one each: the team lead at 80 % of first response (the ticket is on the
    # frontline team, led by alice), then each level's recipients.
    assert recipients == {
        "ana@example.com": 5,
        "alice@ticketflow.local": 1,
        "tech@ticketflow.local": 1,
        "engineering@ticketflow.local": 1,
        "support-managers@ticketflow.local": 1,
        "judy@ticketflow.local": 1,
    }
    internal = [str(m["Subject"]) for m in box.messages if "ana@" not in str(m["To"])]
    assert sorted(internal) == sorted(
        f"[ESCALATION: {name}] [{ticket_id}] Eksport gagal"
        for name in (
            "first response at 80%",
            "L2 Specialists",
            "L3 Engineering",
            "Management",
            "Management",
        )
    )
    # The customer: acknowledgment, three notices and one apology, in Malay.
    to_customer = [m for m in box.messages if "ana@" in str(m["To"])]
    assert all(f"[{ticket_id}]" in str(m["Subject"]) for m in to_customer)
    assert sum("Salam sejahtera" in _text(m) for m in to_customer) == 5
    notices = [str(m["Subject"]) for m in to_customer if "Dirujuk kepada" in str(m["Subject"])]
    assert len(notices) == 3
    # Nothing sent twice.
    assert len(box.messages) == len({str(m["Message-ID"]) for m in box.messages}) == 10


async def _count_at_least(box: Mailbox, count: int) -> bool:
    return len(box.messages) >= count


def _text(message: object) -> str:
    from email.message import EmailMessage

    assert isinstance(message, EmailMessage)
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""
