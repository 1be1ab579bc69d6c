"""The `approvals:` block of the support policy: who decides a refund, credit or cancellation,
by when, and which credits the desk grants by itself (on a breach, on a low CSAT score).

Plans, priorities and metrics are plain strings here (the policy's own vocabulary); the
support policy checks that every role a rule names is on the ladder.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import Field, model_validator

from domain.policy.models import PolicyModel
from domain.sla.durations import BusinessDays, Duration, PositiveDuration, SlaTarget


class ApprovalKind(StrEnum):
    REFUND = "refund"
    CREDIT = "credit"
    CANCELLATION = "cancellation"


class AuthorityLevel(PolicyModel):
    """One rung of the approval ladder: a token role, how long it has to decide before the
    request escalates to the next rung, and who is emailed when a request waits on it."""

    role: str = Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")
    decide_within: PositiveDuration = 24 * 3600
    notify: list[str] = Field(default_factory=list)


class AuthorityRule(PolicyModel):
    """If every given condition holds, the request first waits on `role`. Conditions:
    `kind` and `plan` any of; `max_amount` inclusive; `max_age_days` (days since purchase,
    inclusive; a request without a purchase date never matches it); `min_age_days`."""

    kind: list[ApprovalKind] | None = Field(default=None, min_length=1)
    plan: list[str] | None = Field(default=None, min_length=1)
    max_amount: Decimal | None = Field(default=None, gt=0)
    max_age_days: int | None = Field(default=None, ge=0)
    min_age_days: int | None = Field(default=None, ge=0)
    role: str

    def matches(
        self, *, kind: ApprovalKind, plan: str, amount: Decimal, age_days: int | None
    ) -> bool:
        if self.kind is not None and kind not in self.kind:
            return False
        if self.plan is not None and plan not in self.plan:
            return False
        if self.max_amount is not None and amount > self.max_amount:
            return False
        if self.max_age_days is not None and (age_days is None or age_days > self.max_age_days):
            return False
        return not (
            self.min_age_days is not None and (age_days is None or age_days < self.min_age_days)
        )


class CreditRule(PolicyModel):
    """A credit the desk grants by itself. For a breach: `metric`, `priority` and `plan`
    (any of; None matches all); for a low score: `plan` and `below` (a score under it).
    `approval`: None grants it at once, a role sends it through that rung first."""

    metric: list[str] | None = Field(default=None, min_length=1)
    priority: list[str] | None = Field(default=None, min_length=1)
    plan: list[str] | None = Field(default=None, min_length=1)
    below: int = Field(default=3, ge=2, le=5)
    amount: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    approval: str | None = None

    def matches_breach(self, *, metric: str, priority: str, plan: str) -> bool:
        return (
            (self.metric is None or metric in self.metric)
            and (self.priority is None or priority in self.priority)
            and (self.plan is None or plan in self.plan)
        )

    def matches_score(self, *, score: int, plan: str) -> bool:
        return score < self.below and (self.plan is None or plan in self.plan)


class CreditsSpec(PolicyModel):
    breach: list[CreditRule] = Field(default_factory=list)
    low_csat: list[CreditRule] = Field(default_factory=list)


def _dataflow_ladder() -> list[AuthorityLevel]:
    return [
        AuthorityLevel(role="agent", decide_within=4 * 3600),
        AuthorityLevel(role="support_manager", decide_within=24 * 3600),
        AuthorityLevel(role="finance_director", decide_within=48 * 3600),
    ]


class ApprovalsSpec(PolicyModel):
    """The approval ladder (lowest authority first), the rules that pick the first rung
    (first match wins; none matching: the top rung), and what follows a decision."""

    levels: list[AuthorityLevel] = Field(default_factory=_dataflow_ladder, min_length=1)
    rules: list[AuthorityRule] = Field(default_factory=list)
    hold_status: str = "on_hold"
    """The ticket's status while a request waits (`on_hold`, or `open` to leave it be)."""
    cancellation_notice: Duration = 7 * 86400
    settle_within: SlaTarget = BusinessDays(days=3)
    """The settlement clock: the payment system reports settled within it, or staff hear.
    "3bd" (PlumberLeads' 1-3 business days) counts open days of the ticket's SLA calendar;
    a plain duration counts wall-clock time."""
    max_amount: Decimal = Field(default=Decimal("1000000"), gt=0)
    credits: CreditsSpec = CreditsSpec()

    @model_validator(mode="after")
    def _check_roles(self) -> ApprovalsSpec:
        roles = [level.role for level in self.levels]
        if len(set(roles)) != len(roles):
            raise ValueError(f"levels: a role appears twice in {roles}")
        named = [rule.role for rule in self.rules]
        named += [c.approval for c in [*self.credits.breach, *self.credits.low_csat] if c.approval]
        unknown = sorted({role for role in named if role not in roles})
        if unknown:
            raise ValueError(f"roles {', '.join(unknown)} are not on the approval ladder {roles}")
        if self.hold_status not in ("on_hold", "open"):
            raise ValueError("hold_status must be on_hold or open")
        return self

    def first_role(
        self, *, kind: ApprovalKind, plan: str, amount: Decimal, age_days: int | None
    ) -> str:
        for rule in self.rules:
            if rule.matches(kind=kind, plan=plan, amount=amount, age_days=age_days):
                return rule.role
        return self.levels[-1].role

    def chain(self, first_role: str) -> list[AuthorityLevel]:
        """The rungs from `first_role` up: where a missed deadline escalates to."""
        roles = [level.role for level in self.levels]
        return self.levels[roles.index(first_role) :]
