"""Starting linked tickets and an incident for the incident tests (any Temporal server)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from temporalio.client import Client, WorkflowHandle

from domain.incident.state import IncidentStarted, IncidentState, IncidentTerms
from domain.incident.terms import incident_terms
from domain.policy.support import SupportPolicy
from domain.ticket.aggregate import Ticket
from domain.ticket.state import TicketStarted
from tests.workflows.harness import DEFAULT_POLICY, request, started
from workflows import search_attributes as sa
from workflows.incident import IncidentWorkflow, IncidentWorkflowInput
from workflows.ticket import TicketWorkflow, TicketWorkflowInput

REQUESTERS = (
    ("ana@example.com", "en"),
    ("marko@example.mk", "mk"),
    ("siti@example.my", "ms"),
)


def run_id() -> str:
    return uuid.uuid4().hex[:6]


def ticket_starts(run: str, count: int = 3) -> list[TicketStarted]:
    now = datetime.now(UTC)
    starts = []
    for n in range(count):
        email, language = REQUESTERS[n % len(REQUESTERS)]
        if count > len(REQUESTERS):
            local, domain = email.split("@")
            email = f"{local}+{n}@{domain}"
        body = request(
            requester={"email": email, "plan": "starter", "language": language},
            subject="Payments failing at checkout",
        )
        starts.append(started(f"TKT-{run}-{n:04d}", now, body))
    return starts


async def start_tickets(client: Client, task_queue: str, starts: list[TicketStarted]) -> None:
    for begin in starts:
        initial = Ticket.create(begin)[0].state
        await client.start_workflow(
            TicketWorkflow.run,
            TicketWorkflowInput(started=begin),
            id=begin.ticket_id,
            task_queue=task_queue,
            search_attributes=sa.initial_attributes(initial),
        )


def declared(
    incident_id: str,
    severity: str = "P1",
    policy: SupportPolicy = DEFAULT_POLICY,
    **terms: object,
) -> IncidentStarted:
    base: IncidentTerms = incident_terms(policy, severity)
    return IncidentStarted(
        incident_id=incident_id,
        title="Payments API down",
        severity=severity,
        component="payments-api",
        commander="alice",
        declared_by="alice",
        created_at=datetime.now(UTC),
        terms=base.model_copy(update=terms),
        mail_domain="desk.example",
    )


async def start_incident(
    client: Client, task_queue: str, begin: IncidentStarted
) -> WorkflowHandle[IncidentWorkflow, IncidentState]:
    return await client.start_workflow(
        IncidentWorkflow.run,
        IncidentWorkflowInput(started=begin),
        id=begin.incident_id,
        task_queue=task_queue,
    )
