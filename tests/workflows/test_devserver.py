"""On the real Temporal dev server: wall-clock breach precision and visibility queries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from domain.enums import ClockState, Metric
from domain.sla.terms import SlaTargets
from domain.ticket.actions import AgentReply
from domain.ticket.aggregate import Ticket
from domain.ticket.state import TicketStarted
from tests.conftest import Mailbox, eventually
from tests.workflows.harness import request, running_worker, started
from workflows import search_attributes as sa
from workflows.ticket import TicketWorkflow, TicketWorkflowInput


def _fast(start: TicketStarted, first_response_seconds: int) -> TicketStarted:
    """The same ticket with a tiny first-response target on the 24x7 calendar."""
    sla = start.sla.model_copy(
        update={
            "targets": SlaTargets(first_response=first_response_seconds, resolution=3600),
            "at_risk_percent": [50],
        }
    )
    return start.model_copy(update={"sla": sla})


async def _start(client: Client, task_queue: str, begin: TicketStarted) -> None:
    initial = Ticket.create(begin)[0].state
    await client.start_workflow(
        TicketWorkflow.run,
        TicketWorkflowInput(started=begin),
        id=begin.ticket_id,
        task_queue=task_queue,
        search_attributes=sa.initial_attributes(initial),
    )


async def test_a_three_second_target_breaches_within_a_second_of_its_due_time(
    dev_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    _, port = smtp
    ticket_id = f"TKT-{uuid.uuid4().hex[:8]}"
    created = datetime.now(UTC)
    begin = _fast(started(ticket_id, created, request(priority="P1")), 3)
    async with running_worker(dev_env.client, task_queue, database_url, port):
        await _start(dev_env.client, task_queue, begin)
        handle = dev_env.client.get_workflow_handle(ticket_id)

        async def breached() -> bool:
            state = await handle.query(TicketWorkflow.state)
            return state.clocks[Metric.FIRST_RESPONSE].state == ClockState.BREACHED

        await eventually(breached, timeout=30, interval=0.05)
        state = await handle.query(TicketWorkflow.state)
        history = await handle.fetch_history()
    clock = state.clocks[Metric.FIRST_RESPONSE]
    assert clock.due_at is not None
    # The due second is whole (calendar arithmetic truncates to seconds).
    assert clock.due_at == (created + timedelta(seconds=3)).replace(microsecond=0)
    assert clock.breached_at == clock.due_at
    # The timer the workflow set for it fired within a second of the due time, by the
    # server's own clock (read from history, so a busy test machine cannot fake lateness).
    fired = [
        e.event_time.ToDatetime(tzinfo=UTC)
        for e in history.events
        if e.HasField("timer_fired_event_attributes")
    ]
    lateness = min(abs((at - clock.due_at).total_seconds()) for at in fired)
    assert lateness < 1.0, f"nearest timer fired {lateness:.3f}s from the due time"


async def test_operators_find_breached_p1_tickets_with_visibility_queries(
    dev_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    _, port = smtp
    run = uuid.uuid4().hex[:6]
    now = datetime.now(UTC)
    p1_breaching = _fast(started(f"TKT-{run}-1", now, request(priority="P1")), 2)
    p1_answered = _fast(started(f"TKT-{run}-2", now, request(priority="P1")), 2)
    p3_quiet = started(f"TKT-{run}-3", now, request(priority="P3"))
    async with running_worker(dev_env.client, task_queue, database_url, port):
        for begin in (p1_breaching, p1_answered, p3_quiet):
            await _start(dev_env.client, task_queue, begin)
        answered = dev_env.client.get_workflow_handle(p1_answered.ticket_id)
        await answered.execute_update(TicketWorkflow.reply, AgentReply(actor="alice", body="On it"))

        mine = f'WorkflowId STARTS_WITH "TKT-{run}-"'

        async def ids(query: str) -> set[str]:
            return {w.id async for w in dev_env.client.list_workflows(f"{mine} AND {query}")}

        breached_p1 = 'TicketPriority="P1" AND SlaBreached=true'

        async def found() -> bool:
            return await ids(breached_p1) == {p1_breaching.ticket_id}

        await eventually(found, timeout=30, interval=0.5)
        assert await ids('TicketStatus="open"') == {p1_answered.ticket_id}
        assert await ids('TicketPriority="P3"') == {p3_quiet.ticket_id}
        assert await ids("NextSlaDueAt > '2000-01-01T00:00:00Z'") >= {p3_quiet.ticket_id}
        description = await dev_env.client.get_workflow_handle(p1_breaching.ticket_id).describe()
    attrs = description.typed_search_attributes
    assert attrs.get(sa.TICKET_TEAM) == p1_breaching.team
    assert attrs.get(sa.CUSTOMER_PLAN) == "starter"
    # The breach raised it one level (L1 -> L2), as the ladder says.
    assert attrs.get(sa.ESCALATION_LEVEL) == 1
    # No personal data: nothing in the attributes carries the requester's email or name.
    values = " ".join(str(pair.value) for pair in attrs)
    assert "ana@example.com" not in values
    assert "Ana" not in values
