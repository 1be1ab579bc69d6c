"""SQL of the webhook delivery outbox (`store.webhook_models.WebhookDelivery`). Callers own
the transaction.

Order: a delivery is due only when no earlier `seq` of its (subscription, ticket) is still
open (`pending` or `sending`), checked again in the claim itself. Exactly once: the claim
is one compare-and-set (`pending` → `sending` with a token) and only its holder settles it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from store.webhook_models import (
    OPEN_STATUSES,
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
)

_earlier = aliased(WebhookDelivery)


def _no_earlier_open() -> object:
    return ~exists().where(
        _earlier.subscription_id == WebhookDelivery.subscription_id,
        _earlier.ticket_id == WebhookDelivery.ticket_id,
        _earlier.seq < WebhookDelivery.seq,
        _earlier.status.in_(OPEN_STATUSES),
    )


@dataclass(frozen=True)
class Due:
    delivery_id: int
    subscription_id: str


async def due(
    session: AsyncSession, *, subscription_id: str, now: datetime, limit: int
) -> list[Due]:
    """The subscription's deliveries that may be attempted now, oldest due first. Asked per
    subscription, so a backlog at one receiver never crowds out another's."""
    stmt = (
        select(WebhookDelivery.id, WebhookDelivery.subscription_id)
        .where(
            WebhookDelivery.subscription_id == subscription_id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
            WebhookDelivery.next_attempt_at <= now,
            _no_earlier_open(),  # type: ignore[arg-type]
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )
    return [Due(int(i), str(s)) for i, s in (await session.execute(stmt)).all()]


async def claim(
    session: AsyncSession, *, delivery_id: int, token: str, now: datetime
) -> WebhookDelivery | None:
    """Take the right to send this delivery now; None unless this caller got it (another
    attempt holds it, it is settled, not due, or an earlier event of its ticket is open)."""
    result = await session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
            WebhookDelivery.next_attempt_at <= now,
            _no_earlier_open(),  # type: ignore[arg-type]
        )
        .values(
            status=DeliveryStatus.SENDING,
            claim_token=token,
            claimed_at=now,
            attempts=WebhookDelivery.attempts + 1,
        )
        .returning(WebhookDelivery.id)
    )
    if result.first() is None:
        return None
    return await session.get(WebhookDelivery, delivery_id, populate_existing=True)


async def settle(
    session: AsyncSession,
    *,
    delivery_id: int,
    token: str,
    status: DeliveryStatus,
    at: datetime,
    next_attempt_at: datetime | None = None,
    error: str | None = None,
) -> bool:
    """The claim holder's outcome: `delivered`, `pending` again (at `next_attempt_at`) or
    `failed`. False if the claim is no longer this holder's."""
    values: dict[str, object] = {"status": status, "claim_token": None, "last_error": error}
    if status == DeliveryStatus.DELIVERED:
        values["delivered_at"] = at
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    result = await session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == DeliveryStatus.SENDING,
            WebhookDelivery.claim_token == token,
        )
        .values(**values)
        .returning(WebhookDelivery.id)
    )
    return result.first() is not None


async def settle_stale(session: AsyncSession, *, claimed_before: datetime, at: datetime) -> int:
    """Claims older than any live attempt can hold: the holder died mid-request. The
    receiver may have the event, so it is not sent again (`unconfirmed`); the next events
    of the ticket go on. How many were settled."""
    stale = (
        WebhookDelivery.status == DeliveryStatus.SENDING,
        WebhookDelivery.claimed_at < claimed_before,
    )
    # Read first: an idle dispatcher polls this, and a write would take SQLite's write lock.
    if (await session.execute(select(WebhookDelivery.id).where(*stale).limit(1))).first() is None:
        return 0
    result = await session.execute(
        update(WebhookDelivery)
        .where(*stale)
        .values(
            status=DeliveryStatus.UNCONFIRMED,
            claim_token=None,
            last_error="the attempt stopped during the request (worker gone): the receiver may "
            "have it, so it is not sent again; redeliver to send it again",
        )
        .returning(WebhookDelivery.id)
    )
    return len(result.all())


async def record_attempt(
    session: AsyncSession,
    *,
    delivery_id: int,
    at: datetime,
    status_code: int | None,
    latency_ms: int,
    error: str | None,
) -> None:
    await session.execute(
        insert(WebhookAttempt).values(
            delivery_id=delivery_id,
            at=at,
            status_code=status_code,
            latency_ms=latency_ms,
            error=error,
        )
    )


async def recent(
    session: AsyncSession, *, subscription_id: str, limit: int
) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]:
    """The subscription's latest deliveries (newest first), each with its attempts."""
    deliveries = list(
        (
            await session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.subscription_id == subscription_id)
                .order_by(WebhookDelivery.id.desc())
                .limit(limit)
            )
        ).all()
    )
    ids = [d.id for d in deliveries]
    attempts = (
        await session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(ids))
            .order_by(WebhookAttempt.id)
        )
    ).all()
    by_delivery: dict[int, list[WebhookAttempt]] = {i: [] for i in ids}
    for attempt in attempts:
        by_delivery[attempt.delivery_id].append(attempt)
    return [(d, by_delivery[d.id]) for d in deliveries]


async def with_attempts(
    session: AsyncSession, *, delivery_id: int
) -> tuple[WebhookDelivery, list[WebhookAttempt]] | None:
    delivery = await session.get(WebhookDelivery, delivery_id, populate_existing=True)
    if delivery is None:
        return None
    attempts = await session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery_id)
        .order_by(WebhookAttempt.id)
    )
    return delivery, list(attempts.all())


async def get(
    session: AsyncSession, *, subscription_id: str, delivery_id: int
) -> WebhookDelivery | None:
    delivery = await session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.subscription_id != subscription_id:
        return None
    return delivery


async def redeliver(
    session: AsyncSession, *, subscription_id: str, delivery_id: int, now: datetime
) -> bool:
    """Send a settled delivery (delivered, failed, unconfirmed) again, with a new retry
    window; False if it is still open."""
    result = await session.execute(
        update(WebhookDelivery)
        .where(
            and_(
                WebhookDelivery.id == delivery_id,
                WebhookDelivery.subscription_id == subscription_id,
                WebhookDelivery.status.not_in(OPEN_STATUSES),
            )
        )
        .values(
            status=DeliveryStatus.PENDING,
            window_started_at=now,
            next_attempt_at=now,
            last_error=None,
        )
        .returning(WebhookDelivery.id)
    )
    return result.first() is not None
