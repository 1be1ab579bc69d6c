"""Tables of approvals (refunds, credits, cancellations) and the credit/refund ledger.

`approvals` is a projection of each `ApprovalWorkflow` (the workflow decides; this row is
what the API lists and reports read). `ledger_entries` is the store-only payment adapter and
the record of every credit: one row per approval id (refunds, credits, cancellations) or per
`<ticket>/<seq>` of a `credit_granted` event (automatic credits), so a retry adds nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, UtcDateTime

AMOUNT = Numeric(14, 2)


class ApprovalRow(Base):
    __tablename__ = "approvals"

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(Text)
    purchase_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), index=True)
    approver_role: Mapped[str] = mapped_column(String(32), index=True)
    first_role: Mapped[str] = mapped_column(String(32))
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_role: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    comment: Mapped[str | None] = mapped_column(Text)
    execution: Mapped[str | None] = mapped_column(String(16))
    effective_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    executed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    payment_reference: Mapped[str | None] = mapped_column(String(100))
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)


class LedgerStatus:
    CALLING = "calling"
    """Claimed: an attempt is calling the payment system (or died doing so)."""
    ACCEPTED = "accepted"
    SETTLED = "settled"


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(40), index=True)
    approval_id: Mapped[str | None] = mapped_column(String(48))
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(AMOUNT)
    currency: Mapped[str] = mapped_column(String(3))
    trigger: Mapped[str | None] = mapped_column(String(64))
    adapter: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    claim_token: Mapped[str | None] = mapped_column(String(36))
