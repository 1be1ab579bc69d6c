"""Engine and session factory for the store (SQLite embedded, PostgreSQL in production)."""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SessionMaker = async_sessionmaker[AsyncSession]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the API read while the worker writes; busy_timeout rides out
    # the short write locks of concurrent activities.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An async engine for `url`; SQLite gets WAL and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 10})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def create_sessionmaker(engine: AsyncEngine) -> SessionMaker:
    if engine.dialect.name == "sqlite":
        return _SqliteSessionMaker(engine, expire_on_commit=False)
    return async_sessionmaker(engine, expire_on_commit=False)


WRITE_WAIT = 10.0
"""Seconds a SQLite write transaction waits for its turn in this process (as busy_timeout
waits for other processes) before the store counts as unavailable."""


class _SqliteSessionMaker(async_sessionmaker[AsyncSession]):
    """SQLite takes one writer at a time; each waiter polls for the lock with sleeps of up to
    100 ms (its busy handler), so 32 concurrent intakes in one process left the lock idle
    between polls and some waited past the busy timeout (503). Here the write transactions
    (`begin()`) of one process queue on an asyncio lock, first come first served, and only one
    per process polls SQLite's lock against the other processes'."""

    def __init__(self, engine: AsyncEngine, **kwargs: Any) -> None:
        super().__init__(engine, **kwargs)
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    def begin(self) -> Any:  # an async context manager of an AsyncSession, as the base's
        return _SerialBegin(self, self._lock())


class _SerialBegin:
    def __init__(self, maker: _SqliteSessionMaker, lock: asyncio.Lock) -> None:
        self._maker = maker
        self._lock = lock
        self._inner: Any = None

    async def __aenter__(self) -> AsyncSession:
        try:
            await asyncio.wait_for(self._lock.acquire(), WRITE_WAIT)
        except TimeoutError:
            locked = sqlite3.OperationalError("database is locked (waited for a writer)")
            raise OperationalError("BEGIN", None, locked) from None
        try:
            self._inner = async_sessionmaker.begin(self._maker)
            session: AsyncSession = await self._inner.__aenter__()
        except BaseException:
            self._lock.release()
            raise
        return session

    async def __aexit__(self, *exc: Any) -> Any:
        try:
            return await self._inner.__aexit__(*exc)
        finally:
            self._lock.release()


def sync_url(url: str) -> str:
    """The synchronous driver URL Alembic uses for the same database."""
    return url.replace("+aiosqlite", "")
