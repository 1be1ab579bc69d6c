"""A long ticket continues as new when Temporal suggests it, and loses nothing.

A dev server of its own with a tiny history-length suggestion threshold makes
the suggestion come after a few actions instead of thousands.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from domain.enums import ClockState, EventType, Metric
from domain.sla.terms import SlaTargets
from domain.ticket.actions import AgentNote, AgentReply
from domain.ticket.aggregate import Ticket
from runtime.temporal import retrying_not_ready
from store import repository
from store.engine import create_engine, create_sessionmaker
from store.models import TicketEventRow
from tests.conftest import DEV_SERVER, Mailbox, _Handler, eventually
from tests.workflows.harness import request, running_worker, started
from ticketflow.environment import free_port
from workflows import search_attributes as sa
from workflows.ticket import TicketWorkflow, TicketWorkflowInput


@pytest.fixture
async def small_history_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(DEV_SERVER),
        data_converter=pydantic_data_converter,
        search_attributes=sa.ALL_KEYS,
        dev_server_log_level="error",
        dev_server_extra_args=[
            "--dynamic-config-value",
            "limit.historyCount.suggestContinueAsNew=40",
        ],
    )
    try:
        yield env
    finally:
        await env.shutdown()


async def test_history_timers_and_updates_survive_continue_as_new(
    small_history_env: WorkflowEnvironment,
    task_queue: str,
    database_url: str,
    smtp: tuple[Mailbox, int],
) -> None:
    env = small_history_env
    _, port = smtp
    ticket_id = f"TKT-{uuid.uuid4().hex[:8]}"
    created = datetime.now(UTC)
    begin = started(ticket_id, created, request(priority="P1"))
    # First response due in 25 s of wall-clock time, across the continue-as-new.
    begin = begin.model_copy(
        update={
            "sla": begin.sla.model_copy(
                update={"targets": SlaTargets(first_response=25, resolution=3600)}
            )
        }
    )
    async with running_worker(env.client, task_queue, database_url, port):
        await env.client.start_workflow(
            TicketWorkflow.run,
            TicketWorkflowInput(started=begin),
            id=ticket_id,
            task_queue=task_queue,
            search_attributes=sa.initial_attributes(Ticket.create(begin)[0].state),
        )
        handle = env.client.get_workflow_handle(ticket_id)
        first_run = (await handle.describe()).run_id

        # A steady stream of updates, so some are in flight while a run continues as new;
        # each update targets the workflow id and lands on whichever run is current.
        # (An Update landing in the task that continues as new is answered "not ready";
        # the API sends it again with the same Update id, as here.)
        async def note(n: int) -> None:
            await asyncio.sleep(n * 0.05)
            text = AgentNote(actor="alice", body=f"note {n}")
            await retrying_not_ready(
                functools.partial(handle.execute_update, TicketWorkflow.note, text, id=f"n{n}")
            )

        await asyncio.gather(*(note(n) for n in range(36)))
        state = await handle.query(TicketWorkflow.state)

        async def continued() -> bool:
            return (await handle.describe()).run_id != first_run

        await eventually(continued, timeout=30, interval=0.2)
        runs = [w async for w in env.client.list_workflows(f'WorkflowId = "{ticket_id}"')]

        async def breached() -> bool:
            s = await handle.query(TicketWorkflow.state)
            return s.clocks[Metric.FIRST_RESPONSE].state == ClockState.BREACHED

        await eventually(breached, timeout=60, interval=0.2)
        final = await handle.query(TicketWorkflow.state)
        events = await _timeline(database_url, ticket_id, final.last_seq)
    assert len(runs) >= 2, "the ticket continued as new at least once"
    # Every note made it, and the timeline is dense across runs: nothing lost or doubled.
    assert [e.seq for e in events] == list(range(1, final.last_seq + 1))
    assert sum(e.type == EventType.NOTE for e in events) == 36
    assert state.last_seq >= 37
    clock = final.clocks[Metric.FIRST_RESPONSE]
    due = (created + timedelta(seconds=25)).replace(microsecond=0)
    assert (clock.due_at, clock.breached_at) == (due, due)


async def _timeline(database_url: str, ticket_id: str, last_seq: int) -> list[TicketEventRow]:
    """The projected timeline, once it has caught up with `last_seq`."""
    engine = create_engine(database_url)
    rows: list[TicketEventRow] = []
    try:

        async def caught_up() -> bool:
            nonlocal rows
            async with create_sessionmaker(engine)() as session:
                rows = await repository.list_events(session, ticket_id=ticket_id)
            return len(rows) >= last_seq

        await eventually(caught_up)
    finally:
        await engine.dispose()
    return rows


async def test_continue_as_new_does_not_wait_for_an_smtp_outage_and_carries_the_emails(
    small_history_env: WorkflowEnvironment, task_queue: str, database_url: str
) -> None:
    """The old loop waited for every email before it could continue as new; now the pending
    emails travel to the next run, which sends each exactly once when SMTP is back."""
    env = small_history_env
    port = free_port()  # refused until the server starts below
    ticket_id = f"TKT-{uuid.uuid4().hex[:8]}"
    begin = started(ticket_id, datetime.now(UTC))
    async with running_worker(env.client, task_queue, database_url, port):
        handle = await env.client.start_workflow(
            TicketWorkflow.run, TicketWorkflowInput(started=begin), id=ticket_id,
            task_queue=task_queue,
        )  # fmt: skip
        first_run = (await handle.describe()).run_id
        for n in range(30):
            note = AgentNote(actor="alice", body=f"note {n}")
            await retrying_not_ready(
                functools.partial(handle.execute_update, TicketWorkflow.note, note, id=f"n{n}")
            )
        # The reply may land in the task that continues as new, as any Update can: sent
        # again with the same Update id, the way the API sends it.
        reply = AgentReply(actor="alice", body="Hi")
        await retrying_not_ready(
            functools.partial(handle.execute_update, TicketWorkflow.reply, reply, id="reply")
        )

        async def continued() -> bool:
            return (await handle.describe()).run_id != first_run

        await eventually(continued, timeout=30, interval=0.2)  # while SMTP is still down
        box = Mailbox()
        smtp = Controller(_Handler(box, asyncio.get_running_loop()), "127.0.0.1", port)
        smtp.start()
        try:
            await box.wait_for(2, timeout=90)
            await asyncio.sleep(2)  # a duplicate, had one been sent, would have landed
        finally:
            smtp.stop()
    copies = Counter(str(m["Message-ID"]) for m in box.messages)
    assert sorted(copies) == [
        f"<{ticket_id}.1.acknowledgment@desk.example>",
        f"<{ticket_id}.32.agent_reply@desk.example>",
    ]
    assert set(copies.values()) == {1}
