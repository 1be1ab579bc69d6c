"""Incidents on the real Temporal dev server: the worker process SIGKILLed mid-broadcast
(each ticket still gets the update once), the `IncidentId` visibility query, and 1,000
linked tickets that all receive a broadcast (its time goes to docs/benchmarks.md)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from temporalio.testing import WorkflowEnvironment

from domain.incident.actions import LinkTickets, PostUpdate
from domain.incident.state import IncidentState
from domain.ticket.state import TicketStarted
from tests.conftest import Mailbox, _Handler, eventually
from tests.workflows.harness import running_worker, store_events
from tests.workflows.incident_harness import (
    declared,
    run_id,
    start_incident,
    start_tickets,
    ticket_starts,
)
from ticketflow.environment import free_port
from workflows.incident import IncidentWorkflow

REPO = Path(__file__).resolve().parents[2]
UPDATE_SUBJECTS = ("Incident update", "Ажурирање", "Kemas kini insiden")


def _updates(box: Mailbox) -> Counter[str]:
    return Counter(
        str(m["To"]) for m in box.messages if any(s in str(m["Subject"]) for s in UPDATE_SUBJECTS)
    )


def _spawn_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.workflows.worker_proc"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _broadcast_done(handle: object) -> bool:
    state: IncidentState = await handle.query(IncidentWorkflow.state)  # type: ignore[attr-defined]
    return not state.broadcasts and state.delivered > 0


async def test_worker_killed_mid_broadcast_each_ticket_gets_the_update_once(
    dev_env: WorkflowEnvironment, task_queue: str, database_url: str
) -> None:
    box = Mailbox()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PYTHONPATH": str(REPO),
        "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "TEMPORAL_TASK_QUEUE": task_queue,
        "SMTP_PORT": str(port),
    }
    first = _spawn_worker(env)

    class KillOnFirstUpdate(_Handler):
        """Keeps the message, but SIGKILLs the worker on the first incident update email,
        before answering its DATA: the broadcast is cut in the middle."""

        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            if b"Incident update" in envelope.content and first.poll() is None:
                first.send_signal(signal.SIGKILL)
                first.wait()
            return await super().handle_DATA(server, session, envelope)

    controller = Controller(
        KillOnFirstUpdate(box, asyncio.get_running_loop()), hostname="127.0.0.1", port=port
    )
    controller.start()
    client = dev_env.client
    run = run_id()
    tickets = ticket_starts(run)
    ids = [t.ticket_id for t in tickets]
    second: subprocess.Popen[bytes] | None = None
    try:
        await start_tickets(client, task_queue, tickets)
        await box.wait_for(3, timeout=60)
        # One ticket per batch: the kill lands with batches still to go.
        incident = await start_incident(
            client, task_queue, declared(f"INC-{run}", broadcast_batch=1)
        )
        await incident.execute_update(
            IncidentWorkflow.link_tickets, LinkTickets(actor="alice", ticket_ids=ids)
        )
        await client.get_workflow_handle(incident.id).execute_update(
            IncidentWorkflow.post_update, PostUpdate(actor="alice", body="We are on it.")
        )
        assert first.wait(timeout=60) == -signal.SIGKILL
        second = _spawn_worker(env)
        await eventually(lambda: _broadcast_done(incident), timeout=120, interval=0.5)
        await eventually(lambda: _all_recorded(database_url, ids), timeout=60, interval=0.5)

        async def three_emails() -> bool:
            return len(_updates(box)) == 3

        # An email in flight when the worker died is retried after its heartbeat timeout.
        await eventually(three_emails, timeout=90, interval=0.5)
        await asyncio.sleep(2)  # anything sent twice would have arrived by now
    finally:
        controller.stop()
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
    assert sorted(_updates(box).values()) == [1, 1, 1]
    for ticket_id in ids:
        events = await store_events(database_url, ticket_id)
        assert [e.type for e in events].count("incident_update") == 1


async def _all_recorded(database_url: str, ids: list[str]) -> bool:
    for ticket_id in ids:
        events = await store_events(database_url, ticket_id)
        if [e.type for e in events].count("incident_update") != 1:
            return False
    return True


async def test_operators_list_an_incidents_tickets_by_incident_id(
    dev_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    _box, port = smtp
    client = dev_env.client
    run = run_id()
    tickets = ticket_starts(run, 4)
    ids = [t.ticket_id for t in tickets]
    async with running_worker(client, task_queue, database_url, port):
        await start_tickets(client, task_queue, tickets)
        incident = await start_incident(client, task_queue, declared(f"INC-{run}"))
        await incident.execute_update(
            IncidentWorkflow.link_tickets, LinkTickets(actor="alice", ticket_ids=ids[:3])
        )

        async def listed() -> bool:
            query = f'IncidentId="INC-{run}"'
            found = {w.id async for w in client.list_workflows(query)}
            return found == set(ids[:3])

        await eventually(listed, timeout=30, interval=0.5)
        state = await incident.query(IncidentWorkflow.state)
    assert state.counts_by_status() == {"new": 3}


THOUSAND = 1000


def _quiet(begin: TicketStarted) -> TicketStarted:
    """No acknowledgment: the test counts the broadcast's emails, and starts faster."""
    return begin.model_copy(update={"acknowledge": False})


@pytest.mark.slow
async def test_a_thousand_linked_tickets_all_receive_a_broadcast(
    dev_env: WorkflowEnvironment, task_queue: str, sqlite_url: str, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    client = dev_env.client
    run = run_id()
    tickets = [_quiet(t) for t in ticket_starts(run, THOUSAND)]
    ids = [t.ticket_id for t in tickets]
    async with running_worker(client, task_queue, sqlite_url, port):
        for start in range(0, THOUSAND, 100):
            await asyncio.gather(
                *(start_tickets(client, task_queue, [t]) for t in tickets[start : start + 100])
            )
        incident = await start_incident(client, task_queue, declared(f"INC-{run}"))
        for start in range(0, THOUSAND, 250):
            await incident.execute_update(
                IncidentWorkflow.link_tickets,
                LinkTickets(actor="alice", ticket_ids=ids[start : start + 250]),
            )
        began = time.monotonic()
        await incident.execute_update(
            IncidentWorkflow.post_update, PostUpdate(actor="alice", body="Investigating.")
        )
        await eventually(lambda: _broadcast_done(incident), timeout=600, interval=0.5)
        applied = time.monotonic() - began
        await box.wait_for(THOUSAND, timeout=600)
        emailed = time.monotonic() - began
        state = await incident.query(IncidentWorkflow.state)
    print(
        f"\n1,000 linked tickets: broadcast applied to every ticket in {applied:.1f} s,"
        f" every email delivered in {emailed:.1f} s"
    )
    assert state.delivered == THOUSAND
    assert len(_updates(box)) == THOUSAND
    assert max(_updates(box).values()) == 1
