"""The webhook outbox: queued once, claimed by one attempt at a time, due in `seq` order per
(ticket, subscription), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from domain.webhooks import WebhookEvent
from store import webhook_outbox
from store.engine import SessionMaker
from store.webhook_models import DeliveryStatus
from tests.activities.webhook_support import deliveries, event, record, subscribe

LATER = datetime.now(UTC) + timedelta(days=1)


async def _claim(sessions: SessionMaker, delivery_id: int, token: str) -> bool:
    async with sessions.begin() as session:
        claimed = await webhook_outbox.claim(
            session, delivery_id=delivery_id, token=token, now=LATER
        )
    return claimed is not None


async def _settle(
    sessions: SessionMaker, delivery_id: int, token: str, status: DeliveryStatus
) -> bool:
    async with sessions.begin() as session:
        return await webhook_outbox.settle(
            session, delivery_id=delivery_id, token=token, status=status, at=LATER
        )


async def _due(sessions: SessionMaker) -> list[tuple[str, int]]:
    async with sessions() as session:
        found = [
            d
            for sub in ("wh_a", "wh_b")
            for d in await webhook_outbox.due(session, subscription_id=sub, now=LATER, limit=100)
        ]
    ids = {d.delivery_id for d in found}
    everything = await deliveries(sessions, "wh_a") + await deliveries(sessions, "wh_b")
    return sorted((d.ticket_id, d.seq) for d in everything if d.id in ids)


async def test_an_event_is_queued_once_per_subscription_that_wants_it(
    sessions: SessionMaker,
) -> None:
    await subscribe(sessions, "http://127.0.0.1/a", id="wh_a")
    await subscribe(sessions, "http://127.0.0.1/b", id="wh_b", types=[WebhookEvent.SLA_MET])
    note = event("TKT-1", 2, "note")  # internal: not a webhook event
    await record(sessions, event("TKT-1", 1, "created"), note)
    await record(sessions, event("TKT-1", 1, "created"))  # a retried projection
    [queued] = await deliveries(sessions, "wh_a")
    assert (queued.event_id, queued.type, queued.status) == (
        "TKT-1:1",
        "ticket.created",
        DeliveryStatus.PENDING,
    )
    assert await deliveries(sessions, "wh_b") == []


async def test_only_the_first_open_event_of_a_ticket_is_due(sessions: SessionMaker) -> None:
    await subscribe(sessions, "http://127.0.0.1/a", id="wh_a")
    await subscribe(sessions, "http://127.0.0.1/b", id="wh_b")
    await record(sessions, *(event(t, s) for t in ("TKT-1", "TKT-2") for s in (1, 2)))
    assert await _due(sessions) == [("TKT-1", 1), ("TKT-1", 1), ("TKT-2", 1), ("TKT-2", 1)]
    first = (await deliveries(sessions, "wh_a"))[0]
    assert await _claim(sessions, first.id, "a")
    # Still sending: the ticket's next event waits for it.
    assert ("TKT-1", 2) not in await _due(sessions)
    assert await _settle(sessions, first.id, "a", DeliveryStatus.DELIVERED)
    assert await _due(sessions) == [("TKT-1", 1), ("TKT-1", 2), ("TKT-2", 1), ("TKT-2", 1)]


async def test_concurrent_claims_have_exactly_one_winner(sessions: SessionMaker) -> None:
    await subscribe(sessions, "http://127.0.0.1/a", id="wh_a")
    await record(sessions, event("TKT-1", 1))
    [queued] = await deliveries(sessions, "wh_a")
    won = await asyncio.gather(*(_claim(sessions, queued.id, f"t{i}") for i in range(8)))
    assert sorted(won) == [False] * 7 + [True]
    winner = next(f"t{i}" for i, w in enumerate(won) if w)
    assert not await _settle(sessions, queued.id, "not-the-holder", DeliveryStatus.DELIVERED)
    assert await _settle(sessions, queued.id, winner, DeliveryStatus.DELIVERED)
    assert not await _claim(sessions, queued.id, "late")  # delivered is final
    [done] = await deliveries(sessions, "wh_a")
    assert (done.status, done.attempts) == (DeliveryStatus.DELIVERED, 1)


async def test_a_stale_claim_is_unconfirmed_and_only_a_redelivery_sends_it_again(
    sessions: SessionMaker,
) -> None:
    await subscribe(sessions, "http://127.0.0.1/a", id="wh_a")
    await record(sessions, event("TKT-1", 1))
    [queued] = await deliveries(sessions, "wh_a")
    assert await _claim(sessions, queued.id, "dead")
    async with sessions.begin() as session:
        fresh = await webhook_outbox.settle_stale(session, claimed_before=LATER, at=LATER)
        stale = await webhook_outbox.settle_stale(
            session, claimed_before=LATER + timedelta(seconds=1), at=LATER
        )
    assert (fresh, stale) == (0, 1)
    assert not await _settle(sessions, queued.id, "dead", DeliveryStatus.PENDING)  # a zombie
    assert not await _claim(sessions, queued.id, "b")
    async with sessions.begin() as session:
        again = await webhook_outbox.redeliver(
            session, subscription_id="wh_a", delivery_id=queued.id, now=LATER
        )
        twice = await webhook_outbox.redeliver(
            session, subscription_id="wh_a", delivery_id=queued.id, now=LATER
        )
    assert (again, twice) == (True, False)
    assert await _claim(sessions, queued.id, "b")
