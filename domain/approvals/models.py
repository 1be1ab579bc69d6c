"""What an approval carries: the request, its input to `ApprovalWorkflow`, the decisions, and
what the workflow tells its ticket. Pure models, shared by API, workflows and activities.

Invariant: an approval's id is its ticket's id plus `-R<n>` (`TKT-000123-R1`), n counting the
ticket's approvals from 1; it is the workflow id, the store key and the payment system's
idempotency key, so one approved request moves money once.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from domain.policy.approvals import ApprovalKind, AuthorityLevel
from domain.sla.business_days import add_business_days
from domain.sla.calendar import CalendarSpec
from domain.sla.durations import BusinessDays, SlaTarget

MAX_REASON_CHARS = 2000
MAX_COMMENT_CHARS = 2000


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


class ExecutionStatus(StrEnum):
    """After approval: waiting for the effective date, accepted by the payment system,
    settled (money moved), or settlement overdue (the clock ran out; staff were told)."""

    SCHEDULED = "scheduled"
    ACCEPTED = "accepted"
    SETTLED = "settled"
    OVERDUE = "overdue"


def approval_id(ticket_id: str, number: int) -> str:
    return f"{ticket_id}-R{number}"


def ticket_of(approval: str) -> str:
    """The ticket id of an approval id (`TKT-000123-R1` -> `TKT-000123`)."""
    return approval.rsplit("-R", 1)[0]


MAX_AMOUNT_CHARS = 16
AMOUNT_PATTERN = r"^\d{1,10}(\.\d{1,2})?$"


def _short_amount(value: object) -> object:
    """An amount given as text is digits with up to 2 decimals, as the schema says."""
    if isinstance(value, str) and (
        len(value) > MAX_AMOUNT_CHARS or re.fullmatch(AMOUNT_PATTERN, value) is None
    ):
        raise ValueError("an amount is digits with at most 2 decimals, e.g. 149.00")
    return value


Amount = Annotated[
    Decimal,
    BeforeValidator(_short_amount),
    Field(gt=0, max_digits=12, decimal_places=2),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0},
                {
                    "type": "string",
                    "maxLength": MAX_AMOUNT_CHARS,
                    "pattern": AMOUNT_PATTERN,
                },
            ]
        }
    ),
]
"""Money: up to 12 digits, 2 of them decimals, above zero; JSON number or string."""


class RefundRequest(BaseModel):
    """The body of `POST /v1/tickets/{id}/refund-requests`."""

    model_config = ConfigDict(extra="forbid")

    amount: Amount
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$", max_length=3)
    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS)
    purchase_date: date | None = None
    kind: ApprovalKind = ApprovalKind.REFUND


class Customer(BaseModel):
    model_config = ConfigDict(frozen=True)

    email: str
    name: str | None = None
    language: str = "en"
    plan: str


class ApprovalStarted(BaseModel):
    """The input of `ApprovalWorkflow`: everything decided when the request was made."""

    approval_id: str
    ticket_id: str
    kind: ApprovalKind
    amount: Decimal
    currency: str
    reason: str
    purchase_date: date | None = None
    age_days: int | None = None
    requested_by: str
    """`agent:<id>`, or `system` for an automatic credit."""
    requested_at: datetime
    customer: Customer
    chain: list[AuthorityLevel]
    """The rungs from the first approver up; a missed deadline moves one rung up."""
    ladder: list[str]
    """Every role of the ladder, lowest first: a higher role may decide in a lower's place."""
    effective_at: datetime | None = None
    """A cancellation runs at this instant (the notice period after approval at the latest)."""
    cancellation_notice_seconds: int = 7 * 86400
    settle_within_seconds: int = 3 * 86400
    """The settlement clock as wall-clock seconds (used when `settle_within` is None)."""
    settle_within: SlaTarget | None = None
    """The policy's `settle_within`: seconds, or business days of `calendar`."""
    calendar: CalendarSpec | None = None
    """The ticket's SLA calendar (resolved): what business days count on."""
    subject: str = ""
    mail_domain: str = "ticketflow.local"
    thread_message_id: str | None = None
    automatic: bool = False
    trigger: str | None = None
    """For an automatic credit: what earned it (`breach:first_response`, `csat`)."""


class Decision(BaseModel):
    """An approver's decision, the argument of the approve and deny Updates."""

    actor: str
    role: str
    comment: str = Field(default="", max_length=MAX_COMMENT_CHARS)


class ApprovalView(BaseModel):
    """An approval as the API returns it and the store holds it."""

    id: str
    ticket_id: str
    kind: ApprovalKind
    amount: Decimal
    currency: str
    reason: str
    purchase_date: date | None = None
    status: ApprovalStatus
    approver_role: str
    """The rung the request waits on now (or was decided at)."""
    first_role: str
    escalations: int = 0
    requested_by: str
    requested_at: datetime
    due_at: datetime | None = None
    decided_by: str | None = None
    decided_role: str | None = None
    decided_at: datetime | None = None
    comment: str | None = None
    execution: ExecutionStatus | None = None
    effective_at: datetime | None = None
    executed_at: datetime | None = None
    settled_at: datetime | None = None
    payment_reference: str | None = None
    automatic: bool = False


class ApprovalOutcome(BaseModel):
    """What an approval tells its ticket: requested, then decided (signal `approval_decided`)."""

    approval_id: str
    kind: ApprovalKind
    status: ApprovalStatus
    amount: Decimal
    currency: str
    role: str
    actor: str | None = None
    comment: str | None = None


class PaymentOrder(BaseModel):
    """What `issue_refund` asks the payment adapter for; `approval_id` is the idempotency key."""

    approval_id: str
    ticket_id: str
    kind: ApprovalKind
    amount: Decimal
    currency: str
    customer_email: str


class PaymentResult(BaseModel):
    reference: str
    settled: bool
    """The ledger settles at once; a payment system may report settlement later."""


_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


def format_money(amount: Decimal, currency: str) -> str:
    """`$50.00`, `€12.50`, `120.00 MYR`: how an amount reads in an email."""
    value = f"{amount:,.2f}"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{value}" if symbol else f"{value} {currency}"


def settlement_due(started: ApprovalStarted, accepted_at: datetime) -> datetime:
    """When the payment system must have settled a payment it accepted at `accepted_at`."""
    target = started.settle_within
    if isinstance(target, BusinessDays) and started.calendar is not None:
        return add_business_days(started.calendar, accepted_at, target.days)
    if isinstance(target, int):
        return accepted_at + timedelta(seconds=target)
    return accepted_at + timedelta(seconds=started.settle_within_seconds)


def settle_days(started: ApprovalStarted) -> int:
    """The settlement window in days, as the confirmation email states it."""
    target = started.settle_within
    if isinstance(target, BusinessDays):
        return target.days
    seconds = target if isinstance(target, int) else started.settle_within_seconds
    return max(1, round(seconds / 86400))


def pending_view(started: ApprovalStarted) -> ApprovalView:
    """A request as it stands the moment it is made."""
    first = started.chain[0]
    return ApprovalView(
        id=started.approval_id,
        ticket_id=started.ticket_id,
        kind=started.kind,
        amount=started.amount,
        currency=started.currency,
        reason=started.reason,
        purchase_date=started.purchase_date,
        status=ApprovalStatus.PENDING,
        approver_role=first.role,
        first_role=first.role,
        requested_by=started.requested_by,
        requested_at=started.requested_at,
        due_at=started.requested_at + timedelta(seconds=first.decide_within),
        effective_at=started.effective_at,
        automatic=started.automatic,
    )
