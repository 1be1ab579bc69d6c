"""SQL of the webhook subscriptions, and queueing an event's deliveries. Callers own the
transaction: `enqueue` runs in the one that records the events (projection or intake), so an
event is queued exactly when it is recorded, in `seq` order."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.webhooks import FROM_TIMELINE, event_id
from store.repository import dialect_insert
from store.webhook_models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)


async def create(session: AsyncSession, subscription: WebhookSubscription) -> None:
    session.add(subscription)
    await session.flush()


async def get(session: AsyncSession, *, subscription_id: str) -> WebhookSubscription | None:
    return await session.get(WebhookSubscription, subscription_id)


async def list_all(session: AsyncSession) -> list[WebhookSubscription]:
    stmt = select(WebhookSubscription).order_by(
        WebhookSubscription.created_at, WebhookSubscription.id
    )
    return list((await session.scalars(stmt)).all())


async def active_ids(session: AsyncSession) -> list[str]:
    stmt = select(WebhookSubscription.id).where(WebhookSubscription.active.is_(True))
    return [str(i) for i in (await session.scalars(stmt)).all()]


async def remove(session: AsyncSession, *, subscription_id: str) -> bool:
    deliveries = select(WebhookDelivery.id).where(
        WebhookDelivery.subscription_id == subscription_id
    )
    await session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries)))
    await session.execute(
        delete(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
    )
    result = await session.execute(
        delete(WebhookSubscription)
        .where(WebhookSubscription.id == subscription_id)
        .returning(WebhookSubscription.id)
    )
    return result.first() is not None


async def enqueue(
    session: AsyncSession,
    *,
    events: list[dict[str, Any]],
    at: datetime,
    due_at: datetime | None = None,
) -> int:
    """Queue each event (`store.rows.event_row` dicts) that is a webhook event for every
    active subscription that wants its type; an event already queued is left alone.
    `due_at` (default `at`) holds them back (intake, until its workflow has started).
    How many rows were queued."""
    wanted = [e for e in events if e["type"] in FROM_TIMELINE]
    if not wanted:
        return 0
    subscriptions = (
        await session.execute(
            select(WebhookSubscription.id, WebhookSubscription.event_types).where(
                WebhookSubscription.active.is_(True)
            )
        )
    ).all()
    rows = [
        {
            "subscription_id": sub_id,
            "event_id": event_id(e["ticket_id"], e["seq"]),
            "ticket_id": e["ticket_id"],
            "seq": e["seq"],
            "type": FROM_TIMELINE[e["type"]].value,
            "occurred_at": e["at"],
            "data": {"event": e["type"], "actor": e["actor"], **e["data"]},
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "created_at": at,
            "window_started_at": at,
            "next_attempt_at": due_at or at,
        }
        for e in wanted
        for sub_id, types in subscriptions
        if FROM_TIMELINE[e["type"]].value in types
    ]
    if not rows:
        return 0
    stmt = dialect_insert(session, WebhookDelivery).values(rows)
    await session.execute(
        stmt.on_conflict_do_nothing(index_elements=["subscription_id", "event_id"])
    )
    return len(rows)


async def release(session: AsyncSession, *, ticket_id: str, at: datetime) -> None:
    """Intake started the ticket's workflow: what it queued on hold is due now."""
    await session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.ticket_id == ticket_id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
            WebhookDelivery.attempts == 0,
            WebhookDelivery.next_attempt_at > at,
        )
        .values(next_attempt_at=at)
    )


async def record_outcome(
    session: AsyncSession,
    *,
    subscription_id: str,
    succeeded: bool,
    at: datetime,
    pause_after: timedelta,
) -> bool:
    """A 2xx ends a failing streak; a failure starts one or, once the streak is longer than
    `pause_after`, pauses the subscription. True when this call paused it."""
    if succeeded:
        await session.execute(
            update(WebhookSubscription)
            .where(
                WebhookSubscription.id == subscription_id,
                WebhookSubscription.failing_since.is_not(None),
            )
            .values(failing_since=None)
        )
        return False
    await session.execute(
        update(WebhookSubscription)
        .where(
            WebhookSubscription.id == subscription_id,
            WebhookSubscription.failing_since.is_(None),
        )
        .values(failing_since=at)
    )
    paused = await session.execute(
        update(WebhookSubscription)
        .where(
            WebhookSubscription.id == subscription_id,
            WebhookSubscription.active.is_(True),
            WebhookSubscription.failing_since <= at - pause_after,
        )
        .values(
            active=False,
            paused_at=at,
            updated_at=at,
            pause_reason=f"every attempt failed for {pause_after} (since the first failure)",
        )
        .returning(WebhookSubscription.id)
    )
    return paused.first() is not None
