"""Tables of the webhooks: subscriptions, the delivery outbox, and every attempt."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Identity, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, BigIntId, Document, UtcDateTime

URL_CHARS = 2000
SECRET_CHARS = 200


class WebhookSubscription(Base):
    """Where a backend wants events, with the secret their signatures use.

    `active` False: no new event is queued for it and nothing is sent. The delivery sets it
    False itself (`paused_at`, `pause_reason`) once attempts have failed without a success
    since `failing_since` for longer than the pause window; an admin's PATCH resumes it.
    """

    __tablename__ = "webhook_subscriptions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    url: Mapped[str] = mapped_column(String(URL_CHARS))
    secret: Mapped[str] = mapped_column(String(SECRET_CHARS))
    event_types: Mapped[list[str]] = mapped_column(Document)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    failing_since: Mapped[datetime | None] = mapped_column(UtcDateTime())
    paused_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    pause_reason: Mapped[str | None] = mapped_column(Text)


class DeliveryStatus(StrEnum):
    """Where one event stands for one subscription (see `WebhookDelivery`)."""

    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"
    UNCONFIRMED = "unconfirmed"


OPEN_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)


class WebhookDelivery(Base):
    """One event for one subscription: the webhook outbox, queued in the transaction that
    records the event, so no event is queued twice or missed.

    `status`: `pending` until an attempt claims it (`sending`, holding `claim_token`, one
    compare-and-set); the holder settles it `delivered` (a 2xx), back to `pending` with a
    later `next_attempt_at`, or `failed` once its retry window (from `window_started_at`)
    is over. A claim whose holder died mid-request is settled `unconfirmed`: the receiver may
    have it, so it is never sent again unless an admin redelivers it. Per (subscription,
    ticket), an event is sent only when every earlier `seq` is settled: `seq` order.
    """

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigIntId, Identity(), primary_key=True, autoincrement=True)
    subscription_id: Mapped[str] = mapped_column(String(40))
    """No foreign key, on purpose: queueing runs in the projection's transaction, and a
    subscription deleted meanwhile must not make the store refuse a ticket's events. A row
    left for a deleted subscription is never due (`due` joins the subscriptions)."""
    event_id: Mapped[str] = mapped_column(String(60))
    ticket_id: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    data: Mapped[dict[str, Any]] = mapped_column(Document)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    window_started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    claim_token: Mapped[str | None] = mapped_column(String(36))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        UniqueConstraint("subscription_id", "event_id", name="uq_webhook_deliveries_event"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_order", "subscription_id", "ticket_id", "seq"),
    )


class WebhookAttempt(Base):
    """One HTTP attempt of a delivery: what the receiver answered and how fast."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigIntId, Identity(), primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
