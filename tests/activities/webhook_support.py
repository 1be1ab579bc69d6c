"""Helpers of the webhook tests: subscriptions and events straight into a real store, the
dispatcher with short windows, and the verification code read from docs/webhooks.md."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from temporalio.common import MetricMeter

from activities.webhook_dispatch import WebhookDispatcher, running
from activities.webhooks import WebhookConfig, WebhookSender
from domain.webhooks import WebhookEvent
from store import webhook_outbox, webhooks
from store.engine import SessionMaker
from store.webhook_models import WebhookAttempt, WebhookDelivery, WebhookSubscription

DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
SECRET = "test-secret-0123456789"

FAST = WebhookConfig(
    allowed_hosts=("127.0.0.1",),
    retry_window=timedelta(hours=1),
    pause_after=timedelta(hours=1),
    backoff=timedelta(milliseconds=20),
    backoff_max=timedelta(milliseconds=100),
    timeout=5.0,
    poll=0.05,
)


def documented_verify() -> Callable[[str, str, str, bytes], bool]:
    """The `verify` function of docs/webhooks.md, run as a receiver would copy it."""
    text = DOCS.read_text()
    section = text[text.index("## Verifying the signature") :]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    namespace: dict[str, Any] = {}
    exec(code.group(1), namespace)  # noqa: S102 - our own documentation
    verify: Callable[[str, str, str, bytes], bool] = namespace["verify"]
    return verify


async def subscribe(
    sessions: SessionMaker,
    url: str,
    *,
    id: str = "wh_test",
    types: list[WebhookEvent] | None = None,
) -> str:
    now = datetime.now(UTC)
    async with sessions.begin() as session:
        await webhooks.create(
            session,
            WebhookSubscription(
                id=id,
                url=url,
                secret=SECRET,
                event_types=[t.value for t in (list(WebhookEvent) if types is None else types)],
                active=True,
                created_at=now,
                updated_at=now,
            ),
        )
    return id


def event(ticket_id: str, seq: int, type: str = "agent_reply") -> dict[str, Any]:
    return {
        "ticket_id": ticket_id,
        "seq": seq,
        "type": type,
        "at": datetime(2026, 11, 30, 9, 0, seq, tzinfo=UTC),
        "actor": "agent:alice",
        "data": {"body": f"reply {seq}"},
    }


async def record(sessions: SessionMaker, *events: dict[str, Any]) -> None:
    """What the projection does with recorded events: queue their deliveries."""
    async with sessions.begin() as session:
        await webhooks.enqueue(session, events=list(events), at=datetime.now(UTC))


async def deliveries(sessions: SessionMaker, subscription_id: str) -> list[WebhookDelivery]:
    async with sessions() as session:
        recent = await webhook_outbox.recent(session, subscription_id=subscription_id, limit=500)
    return sorted((d for d, _ in recent), key=lambda d: d.id)


async def attempts(sessions: SessionMaker, subscription_id: str) -> list[WebhookAttempt]:
    async with sessions() as session:
        recent = await webhook_outbox.recent(session, subscription_id=subscription_id, limit=500)
    return [a for _, log in recent for a in log]


async def subscription(sessions: SessionMaker, subscription_id: str) -> WebhookSubscription:
    async with sessions() as session:
        found = await webhooks.get(session, subscription_id=subscription_id)
    assert found is not None
    return found


@asynccontextmanager
async def dispatching(
    sessions: SessionMaker, config: WebhookConfig = FAST, meter: MetricMeter | None = None
) -> AsyncIterator[None]:
    async with httpx.AsyncClient() as http:
        sender = WebhookSender(sessions, http, config, meter)
        async with running(WebhookDispatcher(sessions, sender, config)):
            yield
