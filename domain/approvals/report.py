"""The approvals report: refunds, credits and cancellations by kind, approver level and
outcome, time to decision, and the refund rate. Pure: the store hands in the rows."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from statistics import median

from pydantic import BaseModel, Field

from domain.approvals.models import ApprovalStatus, ApprovalView
from domain.policy.approvals import ApprovalKind


class OutcomeCount(BaseModel):
    kind: str
    level: str
    """The rung that decided (or that a pending request waits on)."""
    outcome: str
    count: int
    amount: Decimal


class ApprovalReport(BaseModel):
    requested: int
    by_kind: dict[str, int]
    outcomes: list[OutcomeCount]
    escalated: int = Field(description="requests whose deadline passed at least once")
    decision_median_seconds: float | None
    decision_max_seconds: float | None
    automatic_credits: int = Field(description="credits the policy granted by itself")
    automatic_credit_amount: Decimal
    tickets_created: int
    refund_rate_percent: float | None = Field(
        description="refund requests per 100 tickets created in the window"
    )


def approval_report(
    approvals: list[ApprovalView],
    *,
    tickets_created: int,
    automatic_credits: int,
    automatic_credit_amount: Decimal,
) -> ApprovalReport:
    groups: Counter[tuple[str, str, str]] = Counter()
    amounts: dict[tuple[str, str, str], Decimal] = {}
    waits: list[float] = []
    for a in approvals:
        level = a.decided_role or a.approver_role
        key = (a.kind.value, level, a.status.value)
        groups[key] += 1
        amounts[key] = amounts.get(key, Decimal(0)) + a.amount
        if a.decided_at is not None and a.status != ApprovalStatus.PENDING:
            waits.append((a.decided_at - a.requested_at).total_seconds())
    refunds = sum(1 for a in approvals if a.kind == ApprovalKind.REFUND)
    return ApprovalReport(
        requested=len(approvals),
        by_kind=dict(Counter(a.kind.value for a in approvals)),
        outcomes=[
            OutcomeCount(kind=k, level=lv, outcome=o, count=n, amount=amounts[(k, lv, o)])
            for (k, lv, o), n in sorted(groups.items())
        ],
        escalated=sum(1 for a in approvals if a.escalations),
        decision_median_seconds=median(waits) if waits else None,
        decision_max_seconds=max(waits) if waits else None,
        automatic_credits=automatic_credits,
        automatic_credit_amount=automatic_credit_amount,
        tickets_created=tickets_created,
        refund_rate_percent=round(100 * refunds / tickets_created, 1) if tickets_created else None,
    )
