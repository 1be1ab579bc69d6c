"""Sending one webhook delivery: `WebhookSender.deliver`, idempotent through the outbox claim.

One call: resolve the subscription's host and check every address against the allowed hosts
(again at each attempt, so a name that now resolves inside the network is refused: DNS
rebinding), claim the delivery (one compare-and-set), POST the signed envelope to the
address that was checked, then settle the claim, record the attempt and the subscription's
health in one transaction. A subscription failing for longer than the pause window is
paused, with a log line and a metric.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from temporalio.common import MetricMeter

from domain.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    envelope_body,
    refusal,
    signature,
)
from store import webhook_outbox, webhooks
from store.engine import SessionMaker
from store.webhook_models import DeliveryStatus, WebhookDelivery, WebhookSubscription

log = logging.getLogger("ticketflow.webhooks")

STALE_MARGIN = timedelta(seconds=5)


@dataclass(frozen=True)
class WebhookConfig:
    """The delivery's settings (`TICKETFLOW_WEBHOOK_*`, see runtime.settings)."""

    allowed_hosts: tuple[str, ...] = ()
    retry_window: timedelta = timedelta(hours=24)
    pause_after: timedelta = timedelta(hours=24)
    backoff: timedelta = timedelta(seconds=1)
    backoff_max: timedelta = timedelta(hours=1)
    timeout: float = 10.0
    poll: float = 0.5
    per_subscription: int = 4
    """Requests in flight to one subscription at once (each for a different ticket)."""

    @property
    def stale_after(self) -> timedelta:
        """A claim older than this was taken by an attempt that no longer runs."""
        return timedelta(seconds=self.timeout) + STALE_MARGIN

    def retry_at(self, delivery: WebhookDelivery, now: datetime) -> datetime | None:
        """When to try a failed delivery again, or None: its retry window is over."""
        deadline = delivery.window_started_at + self.retry_window
        if now >= deadline:
            return None
        delay = self.backoff * (1 << min(max(delivery.attempts - 1, 0), 40))
        return min(now + min(delay, self.backoff_max), deadline)


@dataclass
class Outcome:
    status_code: int | None = None
    error: str | None = None
    latency_ms: int = 0
    ok: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.ok = self.error is None and self.status_code is not None


async def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (an address resolves to itself)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class WebhookSender:
    def __init__(
        self,
        sessions: SessionMaker,
        http: httpx.AsyncClient,
        config: WebhookConfig,
        meter: MetricMeter | None = None,
    ) -> None:
        self._sessions = sessions
        self._http = http
        self._config = config
        self._paused = (
            meter.create_counter(
                "ticketflow_webhook_subscriptions_paused",
                "webhook subscriptions paused after failing for the whole pause window",
            )
            if meter
            else None
        )
        self._attempts = (
            meter.create_counter("ticketflow_webhook_attempts", "webhook requests, by outcome")
            if meter
            else None
        )

    async def deliver(self, delivery_id: int, subscription_id: str) -> None:
        """Attempt one due delivery; nothing if another attempt holds or settled it."""
        async with self._sessions() as session:
            subscription = await webhooks.get(session, subscription_id=subscription_id)
        if subscription is None or not subscription.active:
            return
        url = httpx.URL(subscription.url)
        port = url.port or (443 if url.scheme == "https" else 80)
        addresses = await resolve(url.host, port)
        refused = (
            refusal(url.host, addresses, self._config.allowed_hosts)
            if addresses
            else f"{url.host} does not resolve"
        )
        token = str(uuid.uuid4())
        async with self._sessions.begin() as session:
            now = datetime.now(UTC)
            delivery = await webhook_outbox.claim(
                session, delivery_id=delivery_id, token=token, now=now
            )
        if delivery is None:
            return
        if refused is not None:
            outcome = Outcome(error=f"refused: {refused}")
        else:
            outcome = await self._post(subscription, delivery, url, addresses[0])
        await self._settle(subscription, delivery, token, outcome)

    async def _post(
        self,
        subscription: WebhookSubscription,
        delivery: WebhookDelivery,
        url: httpx.URL,
        address: str,
    ) -> Outcome:
        body = envelope_body(
            id=delivery.event_id,
            type=delivery.type,
            occurred_at=delivery.occurred_at,
            ticket_id=delivery.ticket_id,
            seq=delivery.seq,
            data=delivery.data,
        )
        timestamp = int(time.time())
        headers = {
            "Host": url.netloc.decode(),
            "Content-Type": "application/json",
            "User-Agent": "ticketflow-webhooks/1",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: signature(subscription.secret, timestamp, body),
        }
        # Connect to the address just checked, never to a fresh lookup; TLS still checks
        # the certificate against the host name (SNI).
        pinned = url.copy_with(host=address)
        extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
        started = time.monotonic()
        try:
            response = await self._http.post(
                pinned,
                content=body,
                headers=headers,
                extensions=extensions,
                timeout=self._config.timeout,
                follow_redirects=False,
            )
        except httpx.HTTPError as err:
            latency = int((time.monotonic() - started) * 1000)
            return Outcome(error=f"{type(err).__name__}: {err}"[:500], latency_ms=latency)
        latency = int((time.monotonic() - started) * 1000)
        if 200 <= response.status_code < 300:
            return Outcome(status_code=response.status_code, latency_ms=latency)
        error = f"HTTP {response.status_code}: {response.text[:200]}"
        return Outcome(status_code=response.status_code, error=error, latency_ms=latency)

    async def _settle(
        self,
        subscription: WebhookSubscription,
        delivery: WebhookDelivery,
        token: str,
        outcome: Outcome,
    ) -> None:
        config = self._config
        async with self._sessions.begin() as session:
            now = datetime.now(UTC)
            retry_at = None if outcome.ok else config.retry_at(delivery, now)
            if outcome.ok:
                status = DeliveryStatus.DELIVERED
            elif retry_at is not None:
                status = DeliveryStatus.PENDING
            else:
                status = DeliveryStatus.FAILED
            await webhook_outbox.settle(
                session,
                delivery_id=delivery.id,
                token=token,
                status=status,
                at=now,
                next_attempt_at=retry_at,
                error=None if outcome.ok else outcome.error,
            )
            await webhook_outbox.record_attempt(
                session,
                delivery_id=delivery.id,
                at=now,
                status_code=outcome.status_code,
                latency_ms=outcome.latency_ms,
                error=outcome.error,
            )
            paused = await webhooks.record_outcome(
                session,
                subscription_id=subscription.id,
                succeeded=outcome.ok,
                at=now,
                pause_after=config.pause_after,
            )
        if self._attempts:
            self._attempts.add(1, {"outcome": status.value})
        if status == DeliveryStatus.FAILED:
            log.warning(
                "webhook %s: event %s failed after %d attempts: %s",
                subscription.id, delivery.event_id, delivery.attempts, outcome.error,
            )  # fmt: skip
        if paused:
            log.warning(
                "webhook %s paused: every attempt failed for %s (last: %s)",
                subscription.id, config.pause_after, outcome.error,
            )  # fmt: skip
            if self._paused:
                self._paused.add(1)
