"""Approvals from the API: a request becomes the ticket's `request_approval` Update (which
starts the child `ApprovalWorkflow`), a decision the approval's `approve` or `deny` Update,
a settlement report its `settled` signal. The policy's `approvals:` block is resolved here,
as it stands at the request, and passed in, so no workflow reads configuration."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from temporalio.client import Client, WorkflowHandle

from api.auth import Principal
from domain.approvals.decide import approval_input
from domain.approvals.models import (
    ApprovalStatus,
    ApprovalView,
    Customer,
    Decision,
    RefundRequest,
)
from domain.approvals.report import ApprovalReport, approval_report
from domain.enums import Role
from domain.errors import ApprovalNotFound
from domain.policy.support import SupportPolicy
from runtime.temporal import retrying_not_ready
from store import approvals
from store.engine import SessionMaker
from workflows.approval import ApprovalWorkflow
from workflows.ticket import TicketWorkflow


class ApprovalService:
    def __init__(self, *, client: Client, sessions: SessionMaker, policy: SupportPolicy) -> None:
        self._client = client
        self._sessions = sessions
        self._policy = policy

    def _approval(self, approval_id: str) -> WorkflowHandle[ApprovalWorkflow, ApprovalView]:
        return self._client.get_workflow_handle_for(ApprovalWorkflow.run, approval_id)

    async def request(
        self, ticket_id: str, agent_id: str, body: RefundRequest, *, key: str | None
    ) -> ApprovalView:
        """Start the approval on the ticket; a repeat of `key` returns the first one."""
        handle = self._client.get_workflow_handle(ticket_id)
        state = await handle.query(TicketWorkflow.state)
        requester = state.requester
        ask = approval_input(
            self._policy.approvals,
            ticket_id=ticket_id,
            request=body,
            customer=Customer(
                email=requester.email,
                name=requester.name,
                language=requester.language,
                plan=str(requester.plan),
            ),
            requested_by=f"agent:{agent_id}",
            at=datetime.now(UTC),
            subject=state.subject,
            mail_domain="",
            calendar=state.sla.calendar,
        )
        # One id for every retry of this one request; a repeated key is the same request.
        update_id = f"refund-request:{key}" if key else str(uuid.uuid4())
        return await retrying_not_ready(
            lambda: handle.execute_update(TicketWorkflow.request_approval, ask, id=update_id)
        )

    async def decide(
        self, approval_id: str, principal: Principal, *, approve: bool, comment: str
    ) -> ApprovalView:
        decision = Decision(actor=principal.actor, role=principal.role.value, comment=comment)
        update = ApprovalWorkflow.approve if approve else ApprovalWorkflow.deny
        handle = self._approval(approval_id)
        update_id = str(uuid.uuid4())
        return await retrying_not_ready(
            lambda: handle.execute_update(update, decision, id=update_id)
        )

    async def settled(self, approval_id: str, reference: str) -> None:
        await self._approval(approval_id).signal(ApprovalWorkflow.settled, reference)

    async def get(self, approval_id: str) -> ApprovalView:
        async with self._sessions() as session:
            found = await approvals.get_approval(session, approval_id=approval_id)
        if found is None:
            raise ApprovalNotFound(f"no approval {approval_id}")
        return found

    async def list(
        self,
        principal: Principal,
        *,
        status: ApprovalStatus | None,
        ticket_id: str | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[ApprovalView], str | None]:
        """An approver sees what waits on (or was decided at) its own rung; admin sees all.
        Raises InvalidCursor on a bad cursor."""
        roles = None if principal.role == Role.ADMIN else [principal.role.value]
        async with self._sessions() as session:
            return await approvals.list_approvals(
                session,
                status=status.value if status else None,
                roles=roles,
                ticket_id=ticket_id,
                limit=limit,
                cursor=cursor,
            )

    async def report(self, *, start: datetime, end: datetime) -> ApprovalReport:
        async with self._sessions() as session:
            rows, created, credits, amount = await approvals.report_inputs(
                session, start=start, end=end
            )
        return approval_report(
            rows, tickets_created=created, automatic_credits=credits, automatic_credit_amount=amount
        )
