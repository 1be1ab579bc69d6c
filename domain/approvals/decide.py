"""Who may decide an approval now, and how a request's first rung and chain are chosen. Pure."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from domain.approvals.models import (
    ApprovalStarted,
    ApprovalStatus,
    Customer,
    Decision,
    RefundRequest,
)
from domain.errors import InvalidTransition, NotApprover
from domain.policy.approvals import ApprovalKind, ApprovalsSpec
from domain.sla.calendar import CalendarSpec


def check_decision(
    *, approval_id: str, status: ApprovalStatus, waiting_on: str, ladder: list[str], d: Decision
) -> None:
    """A pending request is decided by the rung it waits on, or by any rung above it."""
    if status != ApprovalStatus.PENDING:
        raise InvalidTransition(f"approval {approval_id} is already {status.value}")
    allowed = ladder[ladder.index(waiting_on) :] if waiting_on in ladder else [waiting_on]
    if d.role not in allowed:
        raise NotApprover(
            f"approval {approval_id} waits on {waiting_on}: decided by {', '.join(allowed)}, "
            f"not {d.role}"
        )


def age_in_days(purchase_date: date | None, at: datetime) -> int | None:
    return None if purchase_date is None else (at.date() - purchase_date).days


def approval_input(
    spec: ApprovalsSpec,
    *,
    ticket_id: str,
    request: RefundRequest,
    customer: Customer,
    requested_by: str,
    at: datetime,
    subject: str,
    mail_domain: str,
    automatic: bool = False,
    trigger: str | None = None,
    first_role: str | None = None,
    calendar: CalendarSpec | None = None,
) -> ApprovalStarted:
    """The `ApprovalWorkflow` input for `request` under `spec`, as the policy stands now
    (the ticket fills in `approval_id` and its email thread when it starts the child)."""
    age = age_in_days(request.purchase_date, at)
    role = first_role or spec.first_role(
        kind=request.kind, plan=customer.plan, amount=request.amount, age_days=age
    )
    effective_at = None
    if request.kind == ApprovalKind.CANCELLATION:
        effective_at = at + timedelta(seconds=spec.cancellation_notice)
    return ApprovalStarted(
        approval_id="",
        ticket_id=ticket_id,
        kind=request.kind,
        amount=request.amount,
        currency=request.currency,
        reason=request.reason,
        purchase_date=request.purchase_date,
        age_days=age,
        requested_by=requested_by,
        requested_at=at,
        customer=customer,
        chain=spec.chain(role),
        ladder=[level.role for level in spec.levels],
        effective_at=effective_at,
        cancellation_notice_seconds=spec.cancellation_notice,
        settle_within=spec.settle_within,
        calendar=calendar,
        subject=subject,
        mail_domain=mail_domain,
        automatic=automatic,
        trigger=trigger,
    )
