"""Ladder+ end to end on the time-skipping server, with the real activities, store and SMTP:
the generic flow's 15 min / 1 h / 4 h / 24 h (seed 003), a DataFlow-like path per priority
with role addresses and a team move dispatched to the new team (seed 004), Easy e-Invoice
escalating at 80 % of a target on a five-level ladder (seed 001), and a content trigger in a
customer's reply and at intake. Each asserts when the ticket climbs, where it moves and who
receives which email, every email exactly once."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from domain.enums import EventType
from domain.policy.support import SupportPolicy
from domain.ticket.actions import CustomerReply, Escalate
from domain.ticket.requests import TicketCreate
from store.models import TicketEventRow
from tests.conftest import Mailbox, eventually
from tests.domain.ticket import ladder_policies as lp
from tests.workflows.harness import request, running_worker, started, store_events, store_row
from workflows.ticket import TicketWorkflow, TicketWorkflowInput

ANA = "ana@example.com"
QUIET = {"subject": "Question about reports", "description": "How do I export a report?"}


def _next_monday_10(now: datetime) -> datetime:
    days = (7 - now.weekday()) % 7 or 7
    return (now + timedelta(days=days)).replace(hour=10, minute=0, second=0, microsecond=0)


async def _start(
    env: WorkflowEnvironment, task_queue: str, policy: SupportPolicy, body: TicketCreate
) -> tuple[str, datetime, WorkflowHandle[TicketWorkflow, object]]:
    ticket_id = f"TKT-{uuid.uuid4().hex[:8]}"
    # On a whole second: SLA arithmetic counts whole seconds.
    current = await env.get_current_time()
    now = current.replace(microsecond=0) + timedelta(seconds=1)
    await env.sleep(now - current)
    handle = await env.client.start_workflow(
        TicketWorkflow.run,
        TicketWorkflowInput(started=started(ticket_id, now, body, policy)),
        id=ticket_id,
        task_queue=task_queue,
    )
    return ticket_id, now, handle


def _climbs(events: list[TicketEventRow]) -> list[tuple[int, str, datetime]]:
    return [
        (e.data["to"], e.data["trigger"], e.at.replace(tzinfo=UTC))
        for e in events
        if e.type == EventType.ESCALATED
    ]


def _moves(events: list[TicketEventRow]) -> list[tuple[str | None, str | None]]:
    return [
        (e.data["to"]["team"], e.data["to"]["agent_id"]) for e in events if e.type == "assigned"
    ]


def _recipients(box: Mailbox) -> Counter[str]:
    return Counter(str(m["To"]).split("<")[-1].rstrip(">") for m in box.messages)


def _internal_subjects(box: Mailbox) -> list[str]:
    return sorted(str(m["Subject"]) for m in box.messages if ANA not in str(m["To"]))


async def _settled(box: Mailbox, count: int, database_url: str, ticket_id: str) -> None:
    """Every expected email arrived and the ticket's effects drained (events in the store)."""
    await box.wait_for(count)

    async def recorded() -> bool:
        row = await store_row(database_url, ticket_id)
        events = await store_events(database_url, ticket_id)
        return row is not None and bool(events) and row.last_seq == events[-1].seq

    await eventually(recorded)


def _assert_once(box: Mailbox) -> None:
    ids = [str(m["Message-ID"]) for m in box.messages]
    assert len(ids) == len(set(ids))


async def test_generic_flow_climbs_at_1h_4h_24h_after_the_15_minute_alert(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    env, policy = time_env, lp.generic_flow()
    async with running_worker(env.client, task_queue, database_url, port, policy):
        ticket_id, t0, _ = await _start(env, task_queue, policy, request(priority="P3", **QUIET))
        await env.sleep(timedelta(hours=24, minutes=5))
        await _settled(box, 12, database_url, ticket_id)
        await env.sleep(timedelta(minutes=30))  # anything sent twice would arrive now
        events = await store_events(database_url, ticket_id)
        row = await store_row(database_url, ticket_id)
    assert _climbs(events) == [
        (1, "unresolved", t0 + timedelta(hours=1)),
        (2, "unresolved", t0 + timedelta(hours=4)),
        (3, "unresolved", t0 + timedelta(hours=24)),
    ]
    breach = next(e for e in events if e.type == EventType.SLA_BREACHED)
    assert breach.at.replace(tzinfo=UTC) == t0 + timedelta(minutes=15)
    # Engineering (level 2) names its team: the ticket moved there and its queue gave it
    # to an engineer.
    assert _moves(events)[0] == ("engineering", None)
    assert row is not None
    assert row.team == "engineering"
    assert row.assignee in {"ivan", "oscar"}
    assert _recipients(box) == {
        ANA: 5,  # acknowledgment, the breach apology, three escalation notices
        "alice@ticketflow.local": 2,  # the lead: 50 % of 15 min, then the breach (notify)
        "tech@ticketflow.local": 1,  # Senior Support at 1 h
        "engineering@ticketflow.local": 1,  # Engineering at 4 h
        "ivan@ticketflow.local": 1,  # engineering's lead: resolution at 50 % (24 h)
        "support-managers@ticketflow.local": 1,  # Management at 24 h
        "judy@ticketflow.local": 1,
    }
    _assert_once(box)


async def test_dataflow_p1_reaches_devops_in_30_minutes_with_the_cto_and_director_told(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    env, policy = time_env, lp.dataflow()
    async with running_worker(env.client, task_queue, database_url, port, policy):
        ticket_id, t0, _ = await _start(env, task_queue, policy, request(priority="P1", **QUIET))
        await env.sleep(timedelta(minutes=35))
        await _settled(box, 8, database_url, ticket_id)

        async def dispatched() -> bool:
            row = await store_row(database_url, ticket_id)
            return row is not None and row.assignee is not None

        await eventually(dispatched)
        await env.sleep(timedelta(minutes=10))
        events = await store_events(database_url, ticket_id)
        row = await store_row(database_url, ticket_id)
    assert _climbs(events) == [(3, "unresolved", t0 + timedelta(minutes=30))]
    # Moved to DevOps' queue at 30 min, then dispatched to its only agent.
    assert _moves(events) == [("devops", None), ("devops", "dmitri")]
    assert row is not None
    assert (row.team, row.assignee, row.escalation_level) == ("devops", "dmitri", 3)
    assert _recipients(box) == {
        ANA: 3,  # acknowledgment, the breach apology (30 min), the escalation notice
        "alice@ticketflow.local": 2,  # frontline's lead: 80 % (24 min), then the breach
        "devops@ticketflow.local": 1,
        lp.CTO: 1,
        lp.DIRECTOR: 1,
    }
    assert (
        _internal_subjects(box).count(f"[ESCALATION: DevOps] [{ticket_id}] {QUIET['subject']}") == 3
    )
    _assert_once(box)


async def test_easy_einvoice_escalates_at_80_percent_and_has_a_fifth_level(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    env, policy = time_env, lp.easy_einvoice()
    monday = _next_monday_10(await env.get_current_time())
    await env.sleep(monday - await env.get_current_time())
    async with running_worker(env.client, task_queue, database_url, port, policy):
        ticket_id, t0, handle = await _start(
            env, task_queue, policy, request(priority="P2", **QUIET)
        )
        # P2, business hours: first response 2 h, at risk at 80 % = 1 h 36 min.
        await env.sleep(timedelta(minutes=100))
        await _settled(box, 3, database_url, ticket_id)
        await handle.execute_update(
            TicketWorkflow.escalate, Escalate(actor="judy", reason="legal threat", level=4)
        )
        await _settled(box, 6, database_url, ticket_id)
        events = await store_events(database_url, ticket_id)
    assert _climbs(events)[0] == (1, "at_risk:first_response", t0 + timedelta(minutes=96))
    assert [(to, trigger) for to, trigger, _ in _climbs(events)] == [
        (1, "at_risk:first_response"),
        (4, "manual"),
    ]
    assert _recipients(box) == {
        ANA: 3,  # acknowledgment, two escalation notices
        "tech@ticketflow.local": 1,  # Tier 2 at 80 %, instead of the lead's alert
        "ceo@easy.example": 1,  # Executive, the fifth level
        lp.CTO: 1,
    }
    _assert_once(box)


async def test_security_words_escalate_from_a_reply_and_at_intake(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    env, policy = time_env, lp.security_trigger()
    async with running_worker(env.client, task_queue, database_url, port, policy):
        ticket_id, t0, handle = await _start(
            env, task_queue, policy, request(priority="P3", **QUIET)
        )
        await env.sleep(timedelta(minutes=5))
        await handle.execute_update(
            TicketWorkflow.customer_reply,
            CustomerReply(body="Creo que hay una brecha de seguridad en la exportación."),
        )
        leaked = request(priority="P3", subject="Data leak?", description="I see others' data.")
        other_id, t1, _ = await _start(env, task_queue, policy, leaked)
        await env.sleep(timedelta(minutes=1))
        await _settled(box, 6, database_url, ticket_id)
        await _settled(box, 6, database_url, other_id)

        async def both_dispatched() -> bool:
            rows = [await store_row(database_url, t) for t in (ticket_id, other_id)]
            return all(row is not None and row.assignee == "sam" for row in rows)

        await eventually(both_dispatched)
        replied = await store_events(database_url, ticket_id)
        created = await store_events(database_url, other_id)
    # At the reply (the update's instant, a few milliseconds into the sixth minute).
    [(level, trigger, at)] = _climbs(replied)
    assert (level, trigger) == (4, "content:security")
    assert timedelta(0) <= at - (t0 + timedelta(minutes=5)) < timedelta(seconds=1)
    assert _climbs(created) == [(4, "content:security", t1)]
    for events in (replied, created):
        assert _moves(events) == [("security", None), ("security", "sam")]
    assert _recipients(box) == {
        ANA: 4,  # each ticket: acknowledgment and escalation notice
        "security@ticketflow.local": 2,
    }
    _assert_once(box)
