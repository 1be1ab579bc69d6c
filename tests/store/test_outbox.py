"""The outbox claim: one compare-and-set, so no two attempts of an email ever both send."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from store import outbox
from store.engine import SessionMaker
from store.models import OutboxStatus

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
KEY = "TKT-1/1/acknowledgment/ana@example.com"
ITEM = outbox.OutboxItem(
    key=KEY,
    ticket_id="TKT-1",
    template="acknowledgment",
    recipient="ana@example.com",
    message_id="<TKT-1.1.acknowledgment@x>",
)


async def _claim(sessions: SessionMaker, token: str, at: datetime = T0) -> bool:
    async with sessions.begin() as session:
        return await outbox.claim(session, ITEM, token=token, at=at)


async def _settle(sessions: SessionMaker, token: str, status: OutboxStatus) -> bool:
    async with sessions.begin() as session:
        return await outbox.settle(session, key=KEY, token=token, status=status, at=T0, error=None)


async def _row(sessions: SessionMaker) -> tuple[str, int]:
    async with sessions() as session:
        entry = await outbox.get(session, key=KEY)
    assert entry is not None
    return entry.status, entry.attempts


async def test_only_one_attempt_holds_the_claim_and_only_it_settles(
    sessions: SessionMaker,
) -> None:
    assert await _claim(sessions, "a")
    assert not await _claim(sessions, "b")  # "a" is inside DATA
    assert not await _settle(sessions, "b", OutboxStatus.SENT)  # not b's claim
    assert await _settle(sessions, "a", OutboxStatus.RETRY)  # a knows it did not deliver
    assert await _claim(sessions, "b")
    assert await _settle(sessions, "b", OutboxStatus.SENT)
    assert not await _claim(sessions, "c")  # sent is final
    assert await _row(sessions) == (OutboxStatus.SENT, 2)


async def test_concurrent_claims_have_exactly_one_winner(sessions: SessionMaker) -> None:
    won = await asyncio.gather(*(_claim(sessions, f"t{i}") for i in range(8)))
    assert sorted(won) == [False] * 7 + [True]


async def test_a_permanent_failure_never_overrides_a_claim(sessions: SessionMaker) -> None:
    assert await _claim(sessions, "a")
    async with sessions.begin() as session:
        recorded = await outbox.record_failure(session, ITEM, at=T0, error="550 no such user")
    assert not recorded
    assert await _row(sessions) == (OutboxStatus.COMMITTING, 1)


async def test_only_a_stale_claim_is_settled_as_sent_unconfirmed(sessions: SessionMaker) -> None:
    assert await _claim(sessions, "a", at=T0)
    async with sessions.begin() as session:
        fresh = await outbox.settle_stale(
            session, key=KEY, claimed_before=T0 - timedelta(seconds=1), at=T0, error="x"
        )
        stale = await outbox.settle_stale(
            session, key=KEY, claimed_before=T0 + timedelta(seconds=1), at=T0, error="x"
        )
    assert (fresh, stale) == (False, True)
    assert await _row(sessions) == (OutboxStatus.SENT, 1)
    assert not await _settle(sessions, "a", OutboxStatus.RETRY)  # a zombie cannot reopen it
