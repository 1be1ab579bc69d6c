"""Reading the store from outside, as an operator's SQL would: tickets, events, outbox.

A synchronous SQLAlchemy engine (SQLite or PostgreSQL) used from a thread, so the
case's event loop keeps running; while PostgreSQL is stopped every read raises
`StoreDown`. Only columns the projection has always written are read.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy
from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.exc import DBAPIError

from store.engine import sync_url

T = TypeVar("T")


class StoreDown(Exception):
    """The store could not be read (e.g. PostgreSQL is stopped)."""


@dataclass(frozen=True)
class StoredEvent:
    ticket_id: str
    seq: int
    type: str


class StoreReader:
    def __init__(self, url: str) -> None:
        args: dict[str, Any] = {"timeout": 10} if url.startswith("sqlite") else {}
        self._engine = sqlalchemy.create_engine(
            sync_url(url), connect_args=args, pool_pre_ping=True
        )

    def close(self) -> None:
        self._engine.dispose()

    def _rows(self, statement: str | TextClause) -> list[tuple[Any, ...]]:
        query = text(statement) if isinstance(statement, str) else statement
        try:
            with self._engine.connect() as conn:
                return [tuple(row) for row in conn.execute(query)]
        except DBAPIError as err:
            raise StoreDown(str(err.orig).strip().splitlines()[0]) from err

    def ticket_seqs(self) -> dict[str, int]:
        """Ticket id -> the `last_seq` of its stored snapshot."""
        return {row[0]: int(row[1]) for row in self._rows("SELECT id, last_seq FROM tickets")}

    def events(self, *types: str) -> list[StoredEvent]:
        """The events of these types."""
        query = text("SELECT ticket_id, seq, type FROM ticket_events WHERE type IN :types")
        query = query.bindparams(bindparam("types", value=list(types), expanding=True))
        return [StoredEvent(str(r[0]), int(r[1]), str(r[2])) for r in self._rows(query)]

    def event_counts(self) -> Counter[str]:
        """Ticket id -> how many events the store holds for it."""
        rows = self._rows("SELECT ticket_id, COUNT(*) FROM ticket_events GROUP BY ticket_id")
        return Counter({str(r[0]): int(r[1]) for r in rows})

    def outbox_message_ids(self) -> dict[str, str]:
        """Message-ID -> ticket id of every email the outbox knows about."""
        return {
            str(r[0]): str(r[1]) for r in self._rows("SELECT message_id, ticket_id FROM outbox")
        }

    async def read(self, query: Callable[[], T]) -> T:
        """Run one of the reads above in a thread."""
        return await asyncio.to_thread(query)
