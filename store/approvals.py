"""SQL of approvals and the ledger. Callers own the transaction.

The ledger claim is what makes `issue_refund` call the payment system once: an attempt
inserts the entry as `calling` (one INSERT … ON CONFLICT DO NOTHING), and only the attempt
whose insert took calls; a later attempt finds the entry and asks instead
(`activities.payments`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.approvals.models import ApprovalView
from domain.ticket.state import TicketEvent
from store import keyset
from store.approval_models import ApprovalRow, LedgerEntry, LedgerStatus
from store.models import Ticket
from store.repository import dialect_insert

CREDIT_GRANTED = "credit_granted"


async def upsert_approval(session: AsyncSession, *, view: ApprovalView) -> None:
    """The approval as its workflow sees it now; a stale write (fewer facts) changes nothing
    the newer one set, because the workflow only ever adds facts."""
    values: dict[str, Any] = view.model_dump()
    stmt = dialect_insert(session, ApprovalRow).values(**values)
    changing = {k: v for k, v in values.items() if k != "id"}
    await session.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=changing))


def _view(row: ApprovalRow) -> ApprovalView:
    return ApprovalView.model_validate(
        {column: getattr(row, column) for column in ApprovalView.model_fields}
    )


async def get_approval(session: AsyncSession, *, approval_id: str) -> ApprovalView | None:
    row = await session.get(ApprovalRow, approval_id)
    return _view(row) if row else None


async def list_approvals(
    session: AsyncSession,
    *,
    status: str | None,
    roles: list[str] | None,
    ticket_id: str | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> tuple[list[ApprovalView], str | None]:
    """Oldest first, a page and the next page's cursor; `roles` None: every approver's.
    Raises InvalidCursor on a cursor this store did not make."""
    query = select(ApprovalRow)
    if status is not None:
        query = query.where(ApprovalRow.status == status)
    if roles is not None:
        query = query.where(ApprovalRow.approver_role.in_(roles))
    if ticket_id is not None:
        query = query.where(ApprovalRow.ticket_id == ticket_id)
    rows, after = await keyset.fetch_page(
        session,
        query,
        at=ApprovalRow.requested_at,
        key=ApprovalRow.id,
        limit=limit,
        cursor=cursor,
        newest_first=False,
    )
    return [_view(row) for row in rows], after


async def approvals_between(
    session: AsyncSession, *, start: datetime, end: datetime
) -> list[ApprovalView]:
    query = select(ApprovalRow).where(
        ApprovalRow.requested_at >= start, ApprovalRow.requested_at < end
    )
    return [_view(row) for row in (await session.scalars(query)).all()]


# -- the ledger -----------------------------------------------------------------------------


async def ledger_entry(session: AsyncSession, *, key: str) -> LedgerEntry | None:
    return await session.get(LedgerEntry, key)


async def claim_entry(session: AsyncSession, *, values: dict[str, Any]) -> bool:
    """Insert the entry (as given, usually `calling` with a token); False if it exists."""
    stmt = dialect_insert(session, LedgerEntry).values(**values)
    result = await session.execute(
        stmt.on_conflict_do_nothing(index_elements=["key"]).returning(LedgerEntry.key)
    )
    return result.scalar_one_or_none() is not None


async def settle_entry(
    session: AsyncSession,
    *,
    key: str,
    status: str,
    reference: str | None,
    at: datetime | None,
) -> None:
    values: dict[str, Any] = {"status": status, "claim_token": None}
    if reference is not None:
        values["reference"] = reference
    if status == LedgerStatus.SETTLED:
        values["settled_at"] = at
    await session.execute(update(LedgerEntry).where(LedgerEntry.key == key).values(**values))


async def release_entry(session: AsyncSession, *, key: str, token: str) -> None:
    """An attempt whose call was refused (the payment system said no, or was down) lets go
    of its claim, so the next attempt calls again."""
    entry = await session.get(LedgerEntry, key)
    if entry is not None and entry.claim_token == token and entry.status == LedgerStatus.CALLING:
        await session.delete(entry)


async def record_credits(session: AsyncSession, *, events: list[TicketEvent], at: datetime) -> None:
    """A ledger entry for every `credit_granted` event (automatic credits granted at once):
    keyed by the event, so recording the events again adds nothing."""
    for event in events:
        if event.type != CREDIT_GRANTED:
            continue
        stmt = dialect_insert(session, LedgerEntry).values(
            key=f"{event.ticket_id}/{event.seq}",
            ticket_id=event.ticket_id,
            approval_id=None,
            kind="credit",
            amount=event.data["amount"],
            currency=event.data["currency"],
            trigger=event.data.get("trigger"),
            adapter="ledger",
            status=LedgerStatus.SETTLED,
            reference=f"credit-{event.ticket_id}-{event.seq}",
            created_at=event.at,
            settled_at=at,
        )
        await session.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))


async def ledger_for_ticket(session: AsyncSession, *, ticket_id: str) -> list[LedgerEntry]:
    query = select(LedgerEntry).where(LedgerEntry.ticket_id == ticket_id)
    return list((await session.scalars(query.order_by(LedgerEntry.created_at))).all())


async def report_inputs(
    session: AsyncSession, *, start: datetime, end: datetime
) -> tuple[list[ApprovalView], int, int, Decimal]:
    """The approvals requested in `[start, end)`, the tickets created in it, and the automatic
    credits granted in it (count, total)."""
    requested = await approvals_between(session, start=start, end=end)
    created = await session.scalar(
        select(func.count()).where(Ticket.created_at >= start, Ticket.created_at < end)
    )
    credits = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                LedgerEntry.approval_id.is_(None),
                LedgerEntry.created_at >= start,
                LedgerEntry.created_at < end,
            )
        )
    ).one()
    return requested, int(created or 0), int(credits[0]), Decimal(str(credits[1]))
