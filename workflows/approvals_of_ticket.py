"""`TicketApprovals`: how a ticket starts its approvals, each a child `ApprovalWorkflow`
(`<ticket>-R<n>`), abandoned if the ticket ends first (the payment still runs).

Behind the `approvals` patch: tickets recorded before approvals existed never reach it.
Deterministic workflow code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from temporalio import workflow

from domain.approvals.decide import approval_input
from domain.approvals.models import (
    ApprovalStarted,
    ApprovalView,
    Customer,
    RefundRequest,
    approval_id,
    pending_view,
)
from domain.policy.approvals import ApprovalKind
from domain.ticket.aggregate import Ticket
from domain.ticket.change import SYSTEM, CreditAsk, Effects

APPROVAL_WORKFLOW = "ApprovalWorkflow"
"""`workflows.approval.ApprovalWorkflow`, by name: the ticket's sandbox need not load it."""
APPROVALS = "approvals"
"""Patch: refunds, credits and cancellations as child approval workflows."""


def customer_of(ticket: Ticket) -> Customer:
    requester = ticket.state.requester
    return Customer(
        email=requester.email,
        name=requester.name,
        language=requester.language,
        plan=str(requester.plan),
    )


class TicketApprovals:
    def __init__(
        self,
        *,
        ticket: Callable[[], Ticket],
        queue: Callable[[Effects], None],
    ) -> None:
        self._ticket = ticket
        self._queue = queue
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self, ask: ApprovalStarted) -> ApprovalView:
        """Number the request, record it on the ticket, start its workflow."""
        workflow.patched(APPROVALS)
        ticket = self._ticket()
        state = ticket.state
        started = ask.model_copy(
            update={
                "approval_id": approval_id(state.ticket_id, state.approval_count + 1),
                "ticket_id": state.ticket_id,
                "subject": state.subject,
                "mail_domain": ticket.mail_domain,
                "thread_message_id": state.thread_message_id,
            }
        )
        # Numbered and recorded before the first await: two requests never share a number.
        self._queue(ticket.request_approval(started, workflow.now()))
        await workflow.start_child_workflow(
            APPROVAL_WORKFLOW,
            started,
            id=started.approval_id,
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            static_summary=f"{started.kind.value} approval for {state.ticket_id}",
        )
        return pending_view(started)

    def ask_credit(self, ask: CreditAsk) -> None:
        if not workflow.patched(APPROVALS):
            return
        ticket = self._ticket()
        spec = ticket.state.approvals
        if spec is None:
            return
        started = approval_input(
            spec,
            ticket_id=ticket.state.ticket_id,
            request=RefundRequest(
                amount=ask.amount,
                currency=ask.currency,
                reason=f"automatic credit ({ask.trigger})",
                kind=ApprovalKind.CREDIT,
            ),
            customer=customer_of(ticket),
            requested_by=SYSTEM,
            at=workflow.now(),
            subject=ticket.state.subject,
            mail_domain=ticket.mail_domain,
            automatic=True,
            trigger=ask.trigger,
            first_role=ask.role,
            calendar=ticket.state.sla.calendar,
        )
        task = asyncio.create_task(self.start(started))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
