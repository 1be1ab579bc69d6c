"""SQL for inbound email: Message-ID claims. Callers own the transaction.

A claim is the dedup: `INSERT … ON CONFLICT DO NOTHING` in one statement, so of
any number of concurrent requests for one Message-ID exactly one gets it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import InboundMessage
from store.repository import dialect_insert

PENDING = "pending"


@dataclass(frozen=True)
class InboundRecord:
    message_id: str
    ticket_id: str | None
    outcome: str
    received_at: datetime
    reason: str | None = None

    @property
    def pending(self) -> bool:
        return self.outcome == PENDING


@dataclass(frozen=True)
class Claim:
    claimed: bool
    """True: this caller now handles the email. False: `existing` says who did."""
    existing: InboundRecord | None = None


async def claim(
    session: AsyncSession, *, message_id: str, at: datetime, stale_before: datetime
) -> Claim:
    """Claim `message_id` if no one has, or take over a `pending` claim older than
    `stale_before` (its request died); otherwise return the claim that stands."""
    inserted = await session.execute(
        dialect_insert(session, InboundMessage)
        .values(message_id=message_id, ticket_id=None, outcome=PENDING, received_at=at)
        .on_conflict_do_nothing(index_elements=["message_id"])
        .returning(InboundMessage.message_id)
    )
    if inserted.first() is not None:
        return Claim(claimed=True)
    taken_over = await session.execute(
        update(InboundMessage)
        .where(
            InboundMessage.message_id == message_id,
            InboundMessage.outcome == PENDING,
            InboundMessage.received_at < stale_before,
        )
        .values(received_at=at)
        .returning(InboundMessage.message_id)
    )
    if taken_over.first() is not None:
        return Claim(claimed=True)
    existing = await get(session, message_id=message_id)
    if existing is None:
        # Released between our insert and our read: the email is unhandled, claim it again.
        return await claim(session, message_id=message_id, at=at, stale_before=stale_before)
    return Claim(claimed=False, existing=existing)


async def get(session: AsyncSession, *, message_id: str) -> InboundRecord | None:
    row = (
        await session.execute(
            select(InboundMessage)
            .where(InboundMessage.message_id == message_id)
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    received_at = row.received_at
    if received_at.tzinfo is None:  # SQLite keeps no offset; the store writes UTC only
        received_at = received_at.replace(tzinfo=UTC)
    return InboundRecord(
        message_id=row.message_id,
        ticket_id=row.ticket_id,
        outcome=row.outcome,
        received_at=received_at,
        reason=row.reason,
    )


async def finish(
    session: AsyncSession,
    *,
    message_id: str,
    ticket_id: str | None,
    outcome: str,
    reason: str | None = None,
) -> None:
    """Record where the claimed email landed (if anywhere) and why; from now on its
    Message-ID is a duplicate."""
    await session.execute(
        update(InboundMessage)
        .where(InboundMessage.message_id == message_id)
        .values(ticket_id=ticket_id, outcome=outcome, reason=reason)
    )


async def release(session: AsyncSession, *, message_id: str) -> None:
    """Give up a claim whose handling failed, so the sender's retry is handled afresh."""
    await session.execute(
        delete(InboundMessage).where(
            InboundMessage.message_id == message_id, InboundMessage.outcome == PENDING
        )
    )


async def tickets_of(session: AsyncSession, *, message_ids: Sequence[str]) -> dict[str, str]:
    """Ticket of each earlier inbound email among `message_ids` that landed on one."""
    if not message_ids:
        return {}
    rows = await session.execute(
        select(InboundMessage.message_id, InboundMessage.ticket_id).where(
            InboundMessage.message_id.in_(list(message_ids)),
            InboundMessage.ticket_id.is_not(None),
        )
    )
    return {message_id: ticket_id for message_id, ticket_id in rows if ticket_id is not None}
