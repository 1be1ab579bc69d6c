"""SQLite's write transactions take turns within a process (an asyncio lock, first come
first served) instead of polling SQLite's lock against each other."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from store import engine as store_engine
from store.engine import SessionMaker, create_engine, create_sessionmaker


@pytest.fixture
async def sqlite_sessions(tmp_path: Path) -> AsyncIterator[SessionMaker]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'store.db'}")
    async with engine.begin() as connection:
        await connection.execute(text("create table t (n integer)"))
    yield create_sessionmaker(engine)
    await engine.dispose()


async def test_write_transactions_of_one_process_take_turns_and_all_succeed(
    sqlite_sessions: SessionMaker,
) -> None:
    active = peak = 0

    async def write(n: int) -> None:
        nonlocal active, peak
        async with sqlite_sessions.begin() as session:
            active += 1
            peak = max(peak, active)
            await session.execute(text("insert into t (n) values (:n)"), {"n": n})
            await asyncio.sleep(0.005)  # held across an await, as a request's transaction is
            active -= 1

    await asyncio.gather(*(write(n) for n in range(48)))
    async with sqlite_sessions() as session:
        count = (await session.execute(text("select count(*) from t"))).scalar_one()
    assert (peak, count) == (1, 48)


async def test_a_writer_that_waits_past_its_turn_finds_the_store_unavailable(
    sqlite_sessions: SessionMaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_engine, "WRITE_WAIT", 0.2)
    async with sqlite_sessions.begin() as holder:
        await holder.execute(text("insert into t (n) values (1)"))
        with pytest.raises(OperationalError, match="database is locked"):
            async with sqlite_sessions.begin():
                pass

    # A transaction that fails gives its turn back; reads never wait for one.
    async def failing() -> None:
        async with sqlite_sessions.begin() as session:
            await session.execute(text("insert into t (n) values (2)"))
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        await failing()
    async with sqlite_sessions.begin() as session, sqlite_sessions() as reader:
        await session.execute(text("insert into t (n) values (3)"))
        assert (await reader.execute(text("select count(*) from t"))).scalar_one() == 1
    async with sqlite_sessions() as session:
        rows = (await session.execute(text("select n from t order by n"))).scalars().all()
    assert rows == [1, 3]
