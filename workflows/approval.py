"""`ApprovalWorkflow`: one refund, credit or cancellation waiting on an approver, a child of
its ticket; workflow id = approval id (`TKT-000123-R1`).

It waits on the first rung of its chain; when that rung's deadline passes it escalates to
the next rung and emails it (at the top it reminds the same rung). `approve` and `deny` are
Updates whose validator checks the caller's role and that the request is still pending. An
approval tells its ticket (signal `approval_decided`), then: a denial emails the customer
the reason; an approved cancellation waits for its effective date; the payment runs once
(`issue_refund`, keyed by the approval id), the confirmation email follows as soon as the
payment system accepts, and the settlement clock runs until it reports the money settled.
The store row and the emails drain beside the decisions (`workflows.approval_effects`,
inherited). Deterministic workflow code.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from domain.approvals.decide import check_decision
from domain.approvals.models import (
    ApprovalOutcome,
    ApprovalStarted,
    ApprovalStatus,
    ApprovalView,
    Decision,
    ExecutionStatus,
    PaymentOrder,
    PaymentResult,
    settlement_due,
)
from domain.errors import DomainError
from domain.policy.approvals import ApprovalKind
from workflows.approval_effects import ApprovalEffects, fmt_at
from workflows.mail import failure_message

with workflow.unsafe.imports_passed_through():
    from activities.approvals import PAYMENT_REFUSED, ApprovalActivities

APPROVAL_DECIDED_SIGNAL = "approval_decided"
"""The ticket's signal (`TicketWorkflow.approval_decided`), named to keep the import one-way."""
# Transient payment failures retry for as long as the settlement window; a refusal does not.
PAYMENT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(minutes=5),
    non_retryable_error_types=[PAYMENT_REFUSED],
)
PAYMENT_ATTEMPT_TIMEOUT = timedelta(seconds=10)


@workflow.defn
class ApprovalWorkflow(ApprovalEffects):
    @workflow.init
    def __init__(self, input: ApprovalStarted) -> None:
        self._in = input
        self._level = 0
        self._escalations = 0
        self._status = ApprovalStatus.PENDING
        self._due_at: datetime | None = input.requested_at + timedelta(
            seconds=input.chain[0].decide_within
        )
        self._decision: Decision | None = None
        self._decided_at: datetime | None = None
        self._execution: ExecutionStatus | None = None
        self._executed_at: datetime | None = None
        self._settled_at: datetime | None = None
        self._reference: str | None = None
        self._settled_reported = False
        self._version = 0
        self._recorded = -1
        self._mail_seq = 0
        self._sending = 0
        self._tasks: set[asyncio.Task[None]] = set()

    # -- queries, updates, signals --------------------------------------------------------

    @workflow.query
    def view(self) -> ApprovalView:
        i, d = self._in, self._decision
        return ApprovalView(
            id=i.approval_id,
            ticket_id=i.ticket_id,
            kind=i.kind,
            amount=i.amount,
            currency=i.currency,
            reason=i.reason,
            purchase_date=i.purchase_date,
            status=self._status,
            approver_role=self._role,
            first_role=i.chain[0].role,
            escalations=self._escalations,
            requested_by=i.requested_by,
            requested_at=i.requested_at,
            due_at=self._due_at,
            decided_by=d.actor if d else None,
            decided_role=d.role if d else None,
            decided_at=self._decided_at,
            comment=(d.comment or None) if d else None,
            execution=self._execution,
            effective_at=i.effective_at,
            executed_at=self._executed_at,
            settled_at=self._settled_at,
            payment_reference=self._reference,
            automatic=i.automatic,
        )

    @property
    def _role(self) -> str:
        return self._in.chain[self._level].role

    def _check(self, decision: Decision) -> None:
        try:
            check_decision(
                approval_id=self._in.approval_id,
                status=self._status,
                waiting_on=self._role,
                ladder=self._in.ladder,
                d=decision,
            )
        except DomainError as err:
            raise ApplicationError(
                err.message, type=type(err).__name__, non_retryable=True
            ) from err

    @workflow.update
    def approve(self, decision: Decision) -> ApprovalView:
        return self._decide(ApprovalStatus.APPROVED, decision)

    @approve.validator
    def _validate_approve(self, decision: Decision) -> None:
        self._check(decision)

    @workflow.update
    def deny(self, decision: Decision) -> ApprovalView:
        return self._decide(ApprovalStatus.DENIED, decision)

    @deny.validator
    def _validate_deny(self, decision: Decision) -> None:
        self._check(decision)

    def _decide(self, status: ApprovalStatus, decision: Decision) -> ApprovalView:
        self._status = status
        self._decision = decision
        self._decided_at = workflow.now()
        self._due_at = None
        self._changed()
        return self.view()

    @workflow.signal
    def settled(self, reference: str) -> None:
        """The payment system reports the money settled (`POST /v1/approvals/{id}/settled`)."""
        self._settled_reported = True
        self._reference = self._reference or reference or None

    # -- the run ------------------------------------------------------------------------

    @workflow.run
    async def run(self, input: ApprovalStarted) -> ApprovalView:
        self._spawn(self._record_loop())
        self._notify_approvers(escalated_from=None, overdue=False)
        while self._status == ApprovalStatus.PENDING:
            assert self._due_at is not None
            wait = max((self._due_at - workflow.now()).total_seconds(), 1.0)
            try:
                await workflow.wait_condition(
                    lambda: self._status != ApprovalStatus.PENDING,
                    timeout=wait,
                    timeout_summary=f"{self._role} decides by {fmt_at(self._due_at)}",
                )
            except TimeoutError:
                self._deadline_missed()
        await self._tell_ticket()
        if self._status == ApprovalStatus.DENIED:
            self._notify_customer("approval_denied", comment=self._comment())
        else:
            await self._execute()
        await workflow.wait_condition(
            lambda: self._sending == 0 and self._recorded == self._version
            and workflow.all_handlers_finished()
        )  # fmt: skip
        return self.view()

    def _deadline_missed(self) -> None:
        """One rung up, and that rung is told; at the top, the top is reminded."""
        missed = self._role
        if self._level + 1 < len(self._in.chain):
            self._level += 1
            self._escalations += 1
            escalated_from: str | None = missed
        else:
            escalated_from = None
        self._due_at = workflow.now() + timedelta(seconds=self._in.chain[self._level].decide_within)
        workflow.logger.info("approval %s: %s missed its deadline", self._in.approval_id, missed)
        self._notify_approvers(escalated_from=escalated_from, overdue=escalated_from is None)
        self._changed()

    async def _tell_ticket(self) -> None:
        outcome = ApprovalOutcome(
            approval_id=self._in.approval_id,
            kind=self._in.kind,
            status=self._status,
            amount=self._in.amount,
            currency=self._in.currency,
            role=self._decision.role if self._decision else self._role,
            actor=self._decision.actor if self._decision else None,
            comment=self._comment(),
        )
        try:
            await workflow.get_external_workflow_handle(self._in.ticket_id).signal(
                APPROVAL_DECIDED_SIGNAL, outcome
            )
        except Exception as err:  # the ticket's workflow has ended: nothing to take off hold
            workflow.logger.warning("ticket %s not told: %s", self._in.ticket_id, err)

    async def _execute(self) -> None:
        i = self._in
        if i.kind == ApprovalKind.CANCELLATION and i.effective_at is not None:
            self._execution = ExecutionStatus.SCHEDULED
            self._changed()
            wait = (i.effective_at - workflow.now()).total_seconds()
            if wait > 0:
                await workflow.sleep(
                    wait, summary=f"cancellation effective {fmt_at(i.effective_at)}"
                )
        order = PaymentOrder(
            approval_id=i.approval_id,
            ticket_id=i.ticket_id,
            kind=i.kind,
            amount=i.amount,
            currency=i.currency,
            customer_email=i.customer.email,
        )
        # The payment retries for as long as the settlement window, counted from the start.
        window = settlement_due(i, workflow.now()) - workflow.now()
        try:
            result: PaymentResult = await workflow.execute_activity_method(
                ApprovalActivities.issue_refund,
                order,
                start_to_close_timeout=PAYMENT_ATTEMPT_TIMEOUT,
                schedule_to_close_timeout=max(window, timedelta(hours=1)),
                retry_policy=PAYMENT_RETRY,
                summary=f"issue {i.kind.value} {i.approval_id}",
            )
        except ActivityError as err:
            workflow.logger.error("payment of %s failed: %s", i.approval_id, failure_message(err))
            self._execution = ExecutionStatus.OVERDUE
            self._notify_approvers(escalated_from=None, overdue=True, failed=failure_message(err))
            self._changed()
            return
        self._execution = ExecutionStatus.ACCEPTED
        self._executed_at = workflow.now()
        self._reference = result.reference
        self._notify_customer("refund_confirmation")
        if result.settled:
            self._settle()
            return
        self._changed()
        due = settlement_due(i, self._executed_at)
        try:
            await workflow.wait_condition(
                lambda: self._settled_reported,
                timeout=max((due - workflow.now()).total_seconds(), 1.0),
                timeout_summary=f"settlement of {i.approval_id} by {fmt_at(due)}",
            )
        except TimeoutError:
            self._execution = ExecutionStatus.OVERDUE
            self._notify_approvers(escalated_from=None, overdue=True, failed="not settled in time")
            self._changed()
            await workflow.wait_condition(lambda: self._settled_reported)
        self._settle()

    def _settle(self) -> None:
        self._execution = ExecutionStatus.SETTLED
        self._settled_at = workflow.now()
        self._changed()

    def _comment(self) -> str | None:
        return (self._decision.comment or None) if self._decision else None
