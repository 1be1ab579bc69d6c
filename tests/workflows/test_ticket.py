"""TicketWorkflow on the time-skipping test server, with the real store and SMTP activities."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from domain.enums import ClockState, EventType, Metric, Status
from domain.ticket.actions import AgentReply, Close
from store.engine import create_engine, create_sessionmaker
from store.models import OutboxEntry, Ticket, TicketEventRow
from tests.conftest import Mailbox, eventually
from tests.workflows.harness import running_worker, started
from workflows.ticket import TicketWorkflow, TicketWorkflowInput


def _ticket_id() -> str:
    return f"TKT-{uuid.uuid4().hex[:8]}"


async def _events(database_url: str, ticket_id: str) -> list[TicketEventRow]:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = await session.execute(
                select(TicketEventRow)
                .where(TicketEventRow.ticket_id == ticket_id)
                .order_by(TicketEventRow.seq)
            )
            return list(rows.scalars())
    finally:
        await engine.dispose()


async def _row(database_url: str, ticket_id: str) -> Ticket | None:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            return await session.get(Ticket, ticket_id)
    finally:
        await engine.dispose()


async def test_created_ticket_is_recorded_and_acknowledged(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    ticket_id = _ticket_id()
    now = datetime.now(UTC)
    async with running_worker(time_env.client, task_queue, database_url, port):
        handle = await time_env.client.start_workflow(
            TicketWorkflow.run,
            TicketWorkflowInput(started=started(ticket_id, now)),
            id=ticket_id,
            task_queue=task_queue,
        )
        [ack] = await box.wait_for(1)
        state = await handle.query(TicketWorkflow.state)
    assert ack["Subject"] == f"[{ticket_id}] Cannot download my invoice"
    assert ack["Message-ID"] == f"<{ticket_id}.1.acknowledgment@desk.example>"
    assert "Priority: P2" in ack.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert state.status == Status.NEW
    clock = state.clocks[Metric.FIRST_RESPONSE]
    assert clock.state == ClockState.RUNNING
    assert clock.target_seconds == state.sla.targets.first_response
    events = await _events(database_url, ticket_id)
    assert [e.type for e in events][:1] == [EventType.CREATED]
    row = await _row(database_url, ticket_id)
    assert row is not None
    assert row.status == "new"
    assert row.priority == "P2"


async def test_reply_meets_first_response_and_is_emailed(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    ticket_id = _ticket_id()
    async with running_worker(time_env.client, task_queue, database_url, port):
        handle = await time_env.client.start_workflow(
            TicketWorkflow.run,
            TicketWorkflowInput(started=started(ticket_id, datetime.now(UTC))),
            id=ticket_id,
            task_queue=task_queue,
        )
        await box.wait_for(1)
        state = await handle.execute_update(
            TicketWorkflow.reply,
            AgentReply(actor="alice", body="Fixed: try again.", agent_name="Alice"),
        )
        messages = await box.wait_for(2)
    assert state.status == Status.OPEN
    clock = state.sla[Metric.FIRST_RESPONSE]
    assert clock.state == ClockState.MET
    assert clock.met_at is not None
    assert clock.breached_at is None
    reply = messages[1]
    assert reply["Subject"] == f"Re: [{ticket_id}] Cannot download my invoice"
    assert reply["In-Reply-To"] == f"<{ticket_id}.1.acknowledgment@desk.example>"
    assert "Fixed: try again." in reply.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]


async def test_unanswered_ticket_breaches_at_its_due_second(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    ticket_id = _ticket_id()
    # A P1 runs on the 24x7 calendar: due exactly target seconds after creation.
    created = datetime.now(UTC).replace(microsecond=0)
    from tests.workflows.harness import request

    async with running_worker(time_env.client, task_queue, database_url, port):
        handle = await time_env.client.start_workflow(
            TicketWorkflow.run,
            TicketWorkflowInput(started=started(ticket_id, created, request(priority="P1"))),
            id=ticket_id,
            task_queue=task_queue,
        )
        await box.wait_for(1)
        before = await handle.query(TicketWorkflow.state)
        target = before.clocks[Metric.FIRST_RESPONSE].target_seconds
        await time_env.sleep(timedelta(seconds=target + 60))
        after = await handle.query(TicketWorkflow.state)
    clock = after.clocks[Metric.FIRST_RESPONSE]
    assert clock.state == ClockState.BREACHED
    assert clock.breached_at == created + timedelta(seconds=target)
    events = await _events(database_url, ticket_id)
    breaches = [e for e in events if e.type == EventType.SLA_BREACHED]
    assert len(breaches) == 1
    assert breaches[0].data["metric"] == "first_response"
    risks = [e for e in events if e.type == EventType.SLA_AT_RISK]
    assert [r.data["percent"] for r in risks] == [80]
    row = await _row(database_url, ticket_id)
    assert row is not None
    assert row.sla_breached


async def test_refused_update_never_enters_history(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    _, port = smtp
    ticket_id = _ticket_id()
    async with running_worker(time_env.client, task_queue, database_url, port):
        handle = await time_env.client.start_workflow(
            TicketWorkflow.run,
            TicketWorkflowInput(started=started(ticket_id, datetime.now(UTC))),
            id=ticket_id,
            task_queue=task_queue,
        )
        with pytest.raises(WorkflowUpdateFailedError) as caught:
            await handle.execute_update(TicketWorkflow.close, Close(actor="alice"))
        history = await handle.fetch_history()
    assert isinstance(caught.value.cause, ApplicationError)
    assert caught.value.cause.type == "InvalidTransition"
    assert "cannot close: ticket" in caught.value.cause.message
    assert "is new" in caught.value.cause.message
    assert not [
        e
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]


async def test_outbox_has_one_entry_per_email(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    ticket_id = _ticket_id()
    async with running_worker(time_env.client, task_queue, database_url, port):
        await time_env.client.start_workflow(
            TicketWorkflow.run,
            TicketWorkflowInput(started=started(ticket_id, datetime.now(UTC))),
            id=ticket_id,
            task_queue=task_queue,
        )
        await box.wait_for(1)
        entries: list[OutboxEntry] = []
        engine = create_engine(database_url)

        async def sent() -> bool:
            nonlocal entries
            async with create_sessionmaker(engine)() as session:
                entries = list((await session.execute(select(OutboxEntry))).scalars())
            return bool(entries) and entries[0].status == "sent"

        await eventually(sent)
        await engine.dispose()
    assert [(e.ticket_id, e.template, e.status, e.attempts) for e in entries] == [
        (ticket_id, "acknowledgment", "sent", 1)
    ]


async def test_the_timer_summary_names_what_it_waits_for(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    """Operators read it on the timeline: the first timer waits for the at-risk point."""
    box, port = smtp
    ticket_id = _ticket_id()
    async with running_worker(time_env.client, task_queue, database_url, port):
        handle = await time_env.client.start_workflow(
            TicketWorkflow.run,
            TicketWorkflowInput(started=started(ticket_id, datetime.now(UTC))),
            id=ticket_id,
            task_queue=task_queue,
        )
        await box.wait_for(1)
        history = await handle.fetch_history()
    timers = [e for e in history.events if e.HasField("timer_started_event_attributes")]
    converter = time_env.client.data_converter.payload_converter
    summaries = [converter.from_payload(e.user_metadata.summary, str) for e in timers]
    assert summaries[:1] == ["first response at risk (80 %)"]
