"""Durations and their nearest-rank percentiles, computed by SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from store import repository
from store.durations import Durations, durations
from store.engine import SessionMaker
from store.models import Ticket
from tests.store.test_reporting import ticket

BASE = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


async def measure(
    sessions: SessionMaker, spans: list[tuple[datetime, datetime | None]]
) -> Durations:
    """Store one ticket per (created, first responded) pair; summarise created -> responded."""
    async with sessions.begin() as session:
        for index, (created, responded) in enumerate(spans):
            values = ticket(f"T{index}", created, "open", "P2", "email", "general", None)
            await repository.upsert_ticket(
                session, values={**values, "first_responded_at": responded}
            )
    async with sessions() as session:
        return await durations(session, Ticket.created_at, Ticket.first_responded_at)


async def test_percentiles_are_nearest_rank(sessions: SessionMaker) -> None:
    # 1..20 seconds, stored out of order, and one ticket never answered (not counted).
    seconds = [7, 3, 20, 1, 15, 9, 12, 2, 18, 5, 11, 4, 19, 6, 14, 8, 17, 10, 16, 13]
    spans = [(BASE, BASE + timedelta(seconds=s)) for s in seconds]
    got = await measure(sessions, [*spans, (BASE, None)])
    # n = 20: median rank ceil(10) = 10 -> 10 s; p90 rank ceil(18) = 18 -> 18 s.
    assert got == Durations(20, 10.0, 18.0)


async def test_ranks_round_up(sessions: SessionMaker) -> None:
    got = await measure(sessions, [(BASE, BASE + timedelta(seconds=s)) for s in range(1, 12)])
    # n = 11: median rank ceil(5.5) = 6; p90 rank ceil(9.9) = 10.
    assert got == Durations(11, 6.0, 10.0)


async def test_nothing_to_measure(sessions: SessionMaker) -> None:
    assert await measure(sessions, [(BASE, None)]) == Durations(0, None, None)


async def test_one_value_is_every_percentile(sessions: SessionMaker) -> None:
    got = await measure(sessions, [(BASE, BASE + timedelta(seconds=7))])
    assert got == Durations(1, 7.0, 7.0)


async def test_microseconds_are_exact_across_days_and_borrows(sessions: SessionMaker) -> None:
    created = BASE.replace(microsecond=999_999)
    # A microsecond; a borrow (finish's microseconds below begin's); 400 days and change.
    finishes = [
        created + timedelta(microseconds=1),
        created + timedelta(seconds=90, microseconds=2),
        created + timedelta(days=400, seconds=3, microseconds=123_457),
    ]
    got = await measure(sessions, [(created, finish) for finish in finishes])
    expected = sorted((finish - created).total_seconds() for finish in finishes)
    assert got == Durations(3, expected[1], expected[2])
    assert (got.median_seconds, got.p90_seconds) == (90.000002, 34560003.123457)
