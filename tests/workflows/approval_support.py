"""Starting tickets and approvals on a test server the way the API does (without HTTP)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from temporalio.client import Client, WorkflowHandle

from domain.approvals.decide import approval_input
from domain.approvals.models import ApprovalView, Customer, Decision, RefundRequest
from domain.policy.approvals import ApprovalKind
from domain.ticket.state import TicketStarted
from store.approval_models import LedgerEntry
from store.approvals import get_approval, ledger_for_ticket
from store.engine import create_engine, create_sessionmaker
from tests.workflows.harness import DEFAULT_POLICY, request, started
from workflows.approval import ApprovalWorkflow
from workflows.ticket import TicketWorkflow, TicketWorkflowInput


def ticket_id() -> str:
    return f"TKT-{uuid.uuid4().hex[:8]}"


async def start_ticket(
    client: Client,
    task_queue: str,
    at: datetime,
    *,
    plan: str = "starter",
    language: str = "en",
    priority: str = "P3",
) -> TicketStarted:
    requester = {"email": "ana@example.com", "name": "Ana Novak", "plan": plan}
    body = request(priority=priority, requester={**requester, "language": language})
    start = started(ticket_id(), at, body)
    await client.start_workflow(
        TicketWorkflow.run,
        TicketWorkflowInput(started=start),
        id=start.ticket_id,
        task_queue=task_queue,
    )
    return start


async def ask(
    client: Client,
    start: TicketStarted,
    at: datetime,
    *,
    amount: str,
    purchase_date: date | None = None,
    kind: ApprovalKind = ApprovalKind.REFUND,
    reason: str = "Charged for a plan I no longer use",
) -> ApprovalView:
    """`POST /v1/tickets/{id}/refund-requests` by agent alice, as the API builds it."""
    requester = start.request.requester
    body = RefundRequest(
        amount=Decimal(amount), reason=reason, purchase_date=purchase_date, kind=kind
    )
    started_input = approval_input(
        DEFAULT_POLICY.approvals,
        ticket_id=start.ticket_id,
        request=body,
        customer=Customer(
            email=requester.email,
            name=requester.name,
            language=requester.language,
            plan=str(requester.plan),
        ),
        requested_by="agent:alice",
        at=at,
        subject=start.request.subject,
        mail_domain="desk.example",
        calendar=start.sla.calendar,
    )
    handle = client.get_workflow_handle(start.ticket_id)
    return await handle.execute_update(TicketWorkflow.request_approval, started_input)


def approval(client: Client, approval_id: str) -> WorkflowHandle[ApprovalWorkflow, ApprovalView]:
    return client.get_workflow_handle_for(ApprovalWorkflow.run, approval_id)


def by(role: str, actor: str, comment: str = "") -> Decision:
    return Decision(actor=f"agent:{actor}", role=role, comment=comment)


async def stored(database_url: str, approval_id: str) -> ApprovalView | None:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            return await get_approval(session, approval_id=approval_id)
    finally:
        await engine.dispose()


async def ledger(database_url: str, ticket: str) -> list[LedgerEntry]:
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            return await ledger_for_ticket(session, ticket_id=ticket)
    finally:
        await engine.dispose()
