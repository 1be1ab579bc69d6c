"""IncidentWorkflow on the time-skipping server with real tickets, store and SMTP: three
linked tickets each get each public update once, in their language; a missed cadence
escalates; resolving resolves all three; a reopened ticket leaves the incident."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from domain.enums import ClockState, EventType, Metric, Status
from domain.incident.actions import (
    LinkTickets,
    PostUpdate,
    ResolveIncident,
    SubmitReport,
    UnlinkTicket,
)
from domain.incident.state import ClockName, IncidentStatus
from domain.ticket.actions import Reopen
from tests.conftest import Mailbox, eventually
from tests.workflows.harness import running_worker, store_events, store_row
from tests.workflows.incident_harness import (
    declared,
    run_id,
    start_incident,
    start_tickets,
    ticket_starts,
)
from workflows.incident import IncidentWorkflow
from workflows.ticket import TicketWorkflow


def _templates(box: Mailbox, template_subject: str) -> list[str]:
    return [str(m["To"]) for m in box.messages if template_subject in str(m["Subject"])]


async def test_three_linked_tickets_get_each_update_once_escalate_and_resolve_together(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    client = time_env.client
    run = run_id()
    tickets = ticket_starts(run)
    ids = [t.ticket_id for t in tickets]
    async with running_worker(client, task_queue, database_url, port):
        await start_tickets(client, task_queue, tickets)
        await box.wait_for(3)  # the acknowledgments
        incident = await start_incident(client, task_queue, declared(f"INC-{run}"))
        linked = await incident.execute_update(
            IncidentWorkflow.link_tickets, LinkTickets(actor="alice", ticket_ids=ids)
        )
        assert [o.outcome for o in linked.tickets] == ["linked"] * 3
        for ticket_id in ids:
            ticket = await client.get_workflow_handle(ticket_id).query(TicketWorkflow.state)
            assert ticket.incident_id == f"INC-{run}"

        first = await incident.execute_update(
            IncidentWorkflow.post_update,
            PostUpdate(
                actor="alice", body="Card payments fail; we are on it.", status="identified"
            ),
        )
        second = await incident.execute_update(
            IncidentWorkflow.post_update,
            PostUpdate(actor="alice", body="A fix is being deployed.", status="monitoring"),
        )
        await box.wait_for(9)
        await eventually(lambda: _no_broadcast(incident), timeout=30)
        state = await incident.query(IncidentWorkflow.state)
        assert state.status == IncidentStatus.MONITORING
        assert state.clocks[ClockName.FIRST_NOTICE].state == "met"
        assert state.delivered == 6

        # 31 minutes with no public update: at risk at 80 % (L3), breached at 30 min (management).
        await time_env.sleep(timedelta(minutes=31))
        state = await incident.query(IncidentWorkflow.state)
        assert state.clocks[ClockName.UPDATE].state == "breached"
        assert state.escalation_level == 3
        assert state.escalation_name == "Management"

        await incident.execute_update(
            IncidentWorkflow.resolve,
            ResolveIncident(actor="alice", resolution="Fixed: rolled back."),
        )
        for ticket_id in ids:
            handle = client.get_workflow_handle(ticket_id)

            async def resolved(handle=handle) -> bool:  # type: ignore[no-untyped-def]
                status: Status = (await handle.query(TicketWorkflow.state)).status
                return status == Status.RESOLVED

            await eventually(resolved, timeout=30)
        await eventually(lambda: _no_broadcast(incident), timeout=30)
        state = await incident.query(IncidentWorkflow.state)
        assert state.counts_by_status() == {"resolved": 3}

        # A customer says it is not over: the ticket leaves the incident.
        reopened = client.get_workflow_handle(ids[0])
        await reopened.execute_update(
            TicketWorkflow.reopen, Reopen(actor="bob", reason="still failing for me")
        )

        async def left() -> bool:
            return ids[0] not in (await incident.query(IncidentWorkflow.state)).linked

        await eventually(left, timeout=30)
        reopened_state = await reopened.query(TicketWorkflow.state)
        assert reopened_state.incident_id is None

        await incident.execute_update(
            IncidentWorkflow.submit_report, SubmitReport(actor="alice", body="Root cause: ...")
        )
        final = await incident.result()
        ticket_states = [
            await client.get_workflow_handle(t).query(TicketWorkflow.state) for t in ids
        ]

        async def projected() -> bool:
            for ticket_id in ids:
                kinds = Counter(e.type for e in await store_events(database_url, ticket_id))
                if (kinds[EventType.INCIDENT_UPDATE], kinds[EventType.RESOLVED]) != (2, 1):
                    return False
            return True

        await eventually(projected, timeout=30)  # the tickets' store projection drains
        events = {t: await store_events(database_url, t) for t in ids}
        rows = {t: await store_row(database_url, t) for t in ids}

    assert final.report_submitted_at is not None
    assert final.clocks[ClockName.REPORT].state == "met"
    # Each requester got each public update once, and the resolution once.
    update_mail = Counter(_templates(box, "Incident update") + _templates(box, "Ажурирање"))
    update_mail += Counter(_templates(box, "Kemas kini insiden"))
    assert sorted(update_mail.values()) == [2, 2, 2]
    applied = {first.update_id, second.update_id, f"INC-{run}/resolution"}
    assert set(ticket_states[1].incident_updates) == applied
    mk = [m for m in box.messages if "Ажурирање" in str(m["Subject"])]
    assert len(mk) == 2
    assert all("marko@example.mk" in str(m["To"]) for m in mk)
    for ticket_id in ids:
        kinds = Counter(e.type for e in events[ticket_id])
        assert kinds[EventType.INCIDENT_UPDATE] == 2
        assert kinds[EventType.RESOLVED] == 1
        row = rows[ticket_id]
        assert row is not None
    assert rows[ids[1]].incident_id == f"INC-{run}"  # type: ignore[union-attr]
    assert rows[ids[0]].incident_id is None  # type: ignore[union-attr]
    # The public updates met the tickets' next-update clocks.
    clock = ticket_states[1].clocks.get(Metric.NEXT_UPDATE)
    assert clock is None or clock.state != ClockState.BREACHED
    # The escalation alerts went to the at-risk level's team and to management.
    staff = [str(m["Subject"]) for m in box.messages if "[INCIDENT P1" in str(m["Subject"])]
    assert any("L3 Engineering" in s for s in staff)
    assert any("Management" in s for s in staff)


async def _no_broadcast(incident) -> bool:  # type: ignore[no-untyped-def]
    return not (await incident.query(IncidentWorkflow.state)).broadcasts


async def test_unlinked_ticket_gets_no_more_updates(
    time_env: WorkflowEnvironment, task_queue: str, sqlite_url: str, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    client = time_env.client
    run = run_id()
    tickets = ticket_starts(run, 2)
    ids = [t.ticket_id for t in tickets]
    async with running_worker(client, task_queue, sqlite_url, port):
        await start_tickets(client, task_queue, tickets)
        await box.wait_for(2)
        incident = await start_incident(client, task_queue, declared(f"INC-{run}", severity="P3"))
        await incident.execute_update(
            IncidentWorkflow.link_tickets, LinkTickets(actor="alice", ticket_ids=ids)
        )
        await incident.execute_update(
            IncidentWorkflow.unlink_ticket, UnlinkTicket(actor="alice", ticket_id=ids[0])
        )
        await incident.execute_update(
            IncidentWorkflow.post_update, PostUpdate(actor="alice", body="Investigating.")
        )
        await box.wait_for(3)
        await eventually(lambda: _no_broadcast(incident), timeout=30)
        first = await client.get_workflow_handle(ids[0]).query(TicketWorkflow.state)
    assert first.incident_id is None
    assert [str(m["To"]) for m in box.messages[2:]] == ["marko@example.mk"]
