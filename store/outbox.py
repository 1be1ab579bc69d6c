"""SQL of the email outbox: one row per notification key. Callers own the transaction.

The claim is the exactly-once guarantee: one `INSERT … ON CONFLICT DO UPDATE … WHERE
status = 'retry' RETURNING` statement, so of any number of concurrent attempts for one key
at most one holds the claim (status `committing`, its `claim_token`) at a time, and only
the holder can settle it. See `store.models.OutboxEntry` for the statuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import OutboxEntry, OutboxStatus
from store.repository import dialect_insert


@dataclass(frozen=True)
class OutboxItem:
    """One email as its outbox row names it: the notification key and what it is."""

    key: str
    ticket_id: str
    template: str
    recipient: str
    message_id: str


async def get(session: AsyncSession, *, key: str) -> OutboxEntry | None:
    return await session.get(OutboxEntry, key)


async def _insert_or_take_retry(
    session: AsyncSession,
    item: OutboxItem,
    *,
    at: datetime,
    status: OutboxStatus,
    token: str | None,
    error: str | None,
) -> bool:
    """Insert the row with `status`, or move a `retry` row to it; False if neither happened."""
    stmt = dialect_insert(session, OutboxEntry).values(
        key=item.key,
        ticket_id=item.ticket_id,
        template=item.template,
        recipient=item.recipient,
        message_id=item.message_id,
        status=status,
        attempts=1,
        created_at=at,
        error=error,
        claim_token=token,
        claimed_at=at if token else None,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "status": status,
            "attempts": OutboxEntry.attempts + 1,
            "error": error,
            "claim_token": token,
            "claimed_at": at if token else None,
        },
        where=OutboxEntry.status == OutboxStatus.RETRY,
    ).returning(OutboxEntry.key)
    return (await session.execute(stmt)).first() is not None


async def claim(session: AsyncSession, item: OutboxItem, *, token: str, at: datetime) -> bool:
    """Take the right to send `key` now (status `committing`, held by `token`).

    True for exactly one caller among concurrent ones, and only if no attempt has sent the
    email, is sending it, or failed it for good."""
    return await _insert_or_take_retry(
        session, item, at=at, status=OutboxStatus.COMMITTING, token=token, error=None
    )


async def record_failure(
    session: AsyncSession, item: OutboxItem, *, at: datetime, error: str
) -> bool:
    """A permanent refusal found before any claim (bad template, 5xx to MAIL or RCPT).
    Never overrides an attempt that holds the claim or has sent."""
    return await _insert_or_take_retry(
        session, item, at=at, status=OutboxStatus.FAILED, token=None, error=error
    )


async def settle(
    session: AsyncSession,
    *,
    key: str,
    token: str,
    status: OutboxStatus,
    at: datetime,
    error: str | None,
) -> bool:
    """The claim holder's outcome: `sent`, `retry` or `failed`. False if the claim is no
    longer this holder's (it was declared stale meanwhile)."""
    result = await session.execute(
        update(OutboxEntry)
        .where(
            OutboxEntry.key == key,
            OutboxEntry.status == OutboxStatus.COMMITTING,
            OutboxEntry.claim_token == token,
        )
        .values(
            status=status,
            sent_at=at if status == OutboxStatus.SENT else None,
            error=error,
            claim_token=None,
        )
        .returning(OutboxEntry.key)
    )
    return result.first() is not None


async def settle_stale(
    session: AsyncSession, *, key: str, claimed_before: datetime, at: datetime, error: str
) -> bool:
    """A claim older than any live attempt can hold one: its holder died inside DATA. The
    server may have the message, so it counts as sent (unconfirmed): never sent again."""
    result = await session.execute(
        update(OutboxEntry)
        .where(
            OutboxEntry.key == key,
            OutboxEntry.status == OutboxStatus.COMMITTING,
            (OutboxEntry.claimed_at.is_(None)) | (OutboxEntry.claimed_at < claimed_before),
        )
        .values(status=OutboxStatus.SENT, sent_at=at, error=error, claim_token=None)
        .returning(OutboxEntry.key)
    )
    return result.first() is not None
