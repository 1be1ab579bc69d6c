"""Webhook subscriptions: create, change, read, delete; deliveries and redelivery.

The URL's host is resolved and checked against the allowed hosts here, when it is set; the
delivery checks it again at every attempt (`activities.webhooks`).
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import uuid
from datetime import UTC, datetime

import httpx

from api.errors import ApiError
from api.webhook_schemas import (
    AttemptOut,
    DeliveryOut,
    WebhookCreate,
    WebhookOut,
    WebhookPatch,
)
from domain.webhooks import mask, refusal
from store import webhook_outbox, webhooks
from store.engine import SessionMaker
from store.webhook_models import WebhookAttempt, WebhookDelivery, WebhookSubscription


def _not_found() -> ApiError:
    return ApiError(404, "not_found", "no such webhook")


def view(subscription: WebhookSubscription, *, show_secret: bool = False) -> WebhookOut:
    return WebhookOut(
        id=subscription.id,
        url=subscription.url,
        secret=subscription.secret if show_secret else mask(subscription.secret),
        event_types=list(subscription.event_types),
        active=subscription.active,
        created_at=subscription.created_at,
        updated_at=subscription.updated_at,
        failing_since=subscription.failing_since,
        paused_at=subscription.paused_at,
        pause_reason=subscription.pause_reason,
    )


def delivery_view(delivery: WebhookDelivery, attempts: list[WebhookAttempt]) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id,
        event_id=delivery.event_id,
        type=delivery.type,
        ticket_id=delivery.ticket_id,
        seq=delivery.seq,
        status=delivery.status,
        attempts=delivery.attempts,
        created_at=delivery.created_at,
        next_attempt_at=delivery.next_attempt_at,
        delivered_at=delivery.delivered_at,
        last_error=delivery.last_error,
        attempt_log=[
            AttemptOut(at=a.at, status_code=a.status_code, latency_ms=a.latency_ms, error=a.error)
            for a in attempts
        ],
    )


class WebhookService:
    def __init__(self, sessions: SessionMaker, allowed_hosts: tuple[str, ...]) -> None:
        self._sessions = sessions
        self._allowed = allowed_hosts

    async def check_url(self, raw: str) -> str:
        """The URL if its host may be called; 422 naming the reason otherwise."""
        try:
            url = httpx.URL(raw)
        except httpx.InvalidURL as err:
            raise ApiError(422, "validation_error", f"url: {err}") from err
        if url.scheme not in ("http", "https") or not url.host:
            raise ApiError(422, "validation_error", "url: needs http(s) and a host")
        if url.userinfo:
            raise ApiError(422, "validation_error", "url: no credentials in the URL")
        port = url.port or (443 if url.scheme == "https" else 80)
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(url.host, port, type=socket.SOCK_STREAM)
        except socket.gaierror:
            infos = []
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        refused = refusal(url.host, addresses, self._allowed)
        if refused is not None:
            raise ApiError(422, "url_not_allowed", f"url: {refused}")
        return raw

    async def create(self, body: WebhookCreate) -> WebhookOut:
        url = await self.check_url(body.url)
        now = datetime.now(UTC)
        subscription = WebhookSubscription(
            id=f"wh_{uuid.uuid4().hex[:20]}",
            url=url,
            secret=body.secret or f"whsec_{secrets.token_urlsafe(32)}",
            event_types=[t.value for t in body.event_types],
            active=body.active,
            created_at=now,
            updated_at=now,
        )
        async with self._sessions.begin() as session:
            await webhooks.create(session, subscription)
        return view(subscription, show_secret=True)

    async def get(self, subscription_id: str) -> WebhookOut:
        async with self._sessions() as session:
            subscription = await webhooks.get(session, subscription_id=subscription_id)
        if subscription is None:
            raise _not_found()
        return view(subscription)

    async def list_all(self) -> list[WebhookOut]:
        async with self._sessions() as session:
            return [view(s) for s in await webhooks.list_all(session)]

    async def update(self, subscription_id: str, body: WebhookPatch) -> WebhookOut:
        url = await self.check_url(body.url) if body.url is not None else None
        async with self._sessions.begin() as session:
            subscription = await webhooks.get(session, subscription_id=subscription_id)
            if subscription is None:
                raise _not_found()
            if url is not None:
                subscription.url = url
            if body.secret is not None:
                subscription.secret = body.secret
            if body.event_types is not None:
                subscription.event_types = [t.value for t in body.event_types]
            if body.active is not None:
                subscription.active = body.active
                if body.active:  # resumed: a fresh start for its health
                    subscription.failing_since = None
                    subscription.paused_at = None
                    subscription.pause_reason = None
            subscription.updated_at = datetime.now(UTC)
        return view(subscription, show_secret=body.secret is not None)

    async def delete(self, subscription_id: str) -> None:
        async with self._sessions.begin() as session:
            if not await webhooks.remove(session, subscription_id=subscription_id):
                raise _not_found()

    async def deliveries(self, subscription_id: str, limit: int) -> list[DeliveryOut]:
        await self.get(subscription_id)
        async with self._sessions() as session:
            recent = await webhook_outbox.recent(
                session, subscription_id=subscription_id, limit=limit
            )
        return [delivery_view(d, attempts) for d, attempts in recent]

    async def redeliver(self, subscription_id: str, delivery_id: int) -> DeliveryOut:
        async with self._sessions.begin() as session:
            delivery = await webhook_outbox.get(
                session, subscription_id=subscription_id, delivery_id=delivery_id
            )
            if delivery is None:
                raise ApiError(404, "not_found", "no such delivery")
            done = await webhook_outbox.redeliver(
                session,
                subscription_id=subscription_id,
                delivery_id=delivery_id,
                now=datetime.now(UTC),
            )
            if not done:
                raise ApiError(
                    409, "delivery_open", f"the delivery is {delivery.status}: it will be sent"
                )
        async with self._sessions() as session:
            found = await webhook_outbox.with_attempts(session, delivery_id=delivery_id)
        if found is None:
            raise ApiError(404, "not_found", "no such delivery")
        return delivery_view(*found)
