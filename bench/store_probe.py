"""Reading the store from outside, beside the worker: the bench's view of the projection.

The same queries on the embedded SQLite file (WAL mode: a reader never blocks the writers)
and on PostgreSQL (`--database-url`), through a small synchronous SQLAlchemy engine. Calls
block: run them in a thread (`asyncio.to_thread`). Only tables and columns every version of
the store has are read: `tickets.id`, `outbox` and `sla_events`.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine, bindparam, create_engine, text

from store.engine import sync_url

_IDS_IN = text("SELECT id FROM tickets WHERE id IN :ids").bindparams(
    bindparam("ids", expanding=True)
)
_IDS_CHUNK = 500


class StoreProbe:
    """Read-only queries on the store at `url` (the URL ticketflow itself is given)."""

    def __init__(self, url: str) -> None:
        self.url = url
        sync = sync_url(url)
        if sync.startswith("sqlite"):
            self._engine: Engine = create_engine(sync, connect_args={"timeout": 30})
        else:
            self._engine = create_engine(sync, pool_size=2, max_overflow=2, pool_pre_ping=True)

    def close(self) -> None:
        self._engine.dispose()

    def stored(self, ticket_ids: Iterable[str]) -> set[str]:
        """Which of `ticket_ids` have their row in `tickets`."""
        wanted = list(ticket_ids)
        found: set[str] = set()
        with self._engine.connect() as db:
            for start in range(0, len(wanted), _IDS_CHUNK):
                chunk = wanted[start : start + _IDS_CHUNK]
                found.update(row[0] for row in db.execute(_IDS_IN, {"ids": chunk}))
        return found

    def _count(self, sql: str, **params: str) -> int:
        with self._engine.connect() as db:
            return int(db.execute(text(sql), params).scalar_one())

    def tickets_stored(self, prefix: str) -> int:
        """Rows in `tickets` whose id starts with `prefix`."""
        return self._count("SELECT count(*) FROM tickets WHERE id LIKE :p", p=f"{prefix}%")

    def emails_sent(self, prefix: str, template: str) -> int:
        """Emails of `template` the outbox records as sent, for ids starting with `prefix`."""
        return self._count(
            "SELECT count(*) FROM outbox WHERE ticket_id LIKE :p AND template = :t "
            "AND status = 'sent'",
            p=f"{prefix}%",
            t=template,
        )

    def breaches_stored(self, prefix: str, metric: str) -> int:
        """Tickets (id starting with `prefix`) with a `breached` row for `metric` (`sla_events`)."""
        return self._count(
            "SELECT count(DISTINCT ticket_id) FROM sla_events "
            "WHERE ticket_id LIKE :p AND metric = :m AND event = 'breached'",
            p=f"{prefix}%",
            m=metric,
        )


def reset_postgres(url: str) -> None:
    """Drop and recreate the `public` schema of the database at `url`: everything in it goes.

    For `--database-url`, whose database the bench owns; SQLite needs nothing (a fresh
    data dir per run)."""
    engine = create_engine(sync_url(url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as db:
            db.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            db.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()
