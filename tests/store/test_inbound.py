"""Message-ID claims on SQLite and, where TEST_DATABASE_URL is set, on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy

from store import inbound
from store.engine import SessionMaker, sync_url
from store.migrate import downgrade, upgrade

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=15)


async def _claim(sessions: SessionMaker, message_id: str, at: datetime = T0) -> inbound.Claim:
    async with sessions.begin() as session:
        return await inbound.claim(session, message_id=message_id, at=at, stale_before=at - LEASE)


async def test_a_message_id_is_claimed_once(sessions: SessionMaker) -> None:
    first = await _claim(sessions, "<m1@x>")
    again = await _claim(sessions, "<m1@x>", at=T0 + timedelta(seconds=1))
    assert first == inbound.Claim(claimed=True)
    assert not again.claimed
    assert again.existing == inbound.InboundRecord(
        message_id="<m1@x>", ticket_id=None, outcome=inbound.PENDING, received_at=T0
    )


async def test_concurrent_claims_of_one_message_id_let_exactly_one_through(
    sessions: SessionMaker,
) -> None:
    results = await asyncio.gather(*(_claim(sessions, "<race@x>") for _ in range(20)))
    assert sum(result.claimed for result in results) == 1
    others = await asyncio.gather(*(_claim(sessions, f"<m{i}@x>") for i in range(5)))
    assert all(result.claimed for result in others)


async def test_finished_claim_is_a_duplicate_and_threads_later_mail(
    sessions: SessionMaker,
) -> None:
    await _claim(sessions, "<m1@x>")
    await _claim(sessions, "<pending@x>")
    async with sessions.begin() as session:
        await inbound.finish(
            session, message_id="<m1@x>", ticket_id="TKT-000001", outcome="created"
        )
    again = await _claim(sessions, "<m1@x>", at=T0 + 2 * LEASE)
    assert not again.claimed
    assert again.existing is not None
    assert (again.existing.ticket_id, again.existing.outcome) == ("TKT-000001", "created")
    async with sessions() as session:
        known = await inbound.tickets_of(
            session, message_ids=["<m1@x>", "<pending@x>", "<unknown@x>"]
        )
        assert await inbound.tickets_of(session, message_ids=[]) == {}
    assert known == {"<m1@x>": "TKT-000001"}


async def test_released_claim_can_be_claimed_again(sessions: SessionMaker) -> None:
    await _claim(sessions, "<m1@x>")
    async with sessions.begin() as session:
        await inbound.release(session, message_id="<m1@x>")
    assert (await _claim(sessions, "<m1@x>")).claimed


async def test_release_never_forgets_a_finished_email(sessions: SessionMaker) -> None:
    await _claim(sessions, "<m1@x>")
    async with sessions.begin() as session:
        await inbound.finish(
            session, message_id="<m1@x>", ticket_id="TKT-000001", outcome="threaded"
        )
        await inbound.release(session, message_id="<m1@x>")
    assert not (await _claim(sessions, "<m1@x>")).claimed


async def test_a_stale_pending_claim_is_taken_over_once(sessions: SessionMaker) -> None:
    await _claim(sessions, "<m1@x>")
    within_lease = await _claim(sessions, "<m1@x>", at=T0 + LEASE - timedelta(seconds=1))
    assert not within_lease.claimed
    later = T0 + LEASE + timedelta(seconds=1)
    takeovers = await asyncio.gather(*(_claim(sessions, "<m1@x>", at=later) for _ in range(5)))
    assert sum(result.claimed for result in takeovers) == 1
    async with sessions() as session:
        record = await inbound.get(session, message_id="<m1@x>")
    assert record is not None
    assert record.received_at == later


def test_migration_0003_goes_down_and_up(database_url: str) -> None:
    def tables() -> set[str]:
        engine = sqlalchemy.create_engine(sync_url(database_url))
        names = set(sqlalchemy.inspect(engine).get_table_names())
        engine.dispose()
        return names

    assert "inbound_messages" in tables()
    downgrade(database_url, "0003a")
    assert "inbound_messages" not in tables()
    upgrade(database_url)
    assert "inbound_messages" in tables()
