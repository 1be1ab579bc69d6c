"""The migrations produce exactly the models' schema, and go down and up again cleanly."""

from __future__ import annotations

import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from store.engine import sync_url
from store.migrate import downgrade, upgrade
from store.models import Base


def test_migrations_match_the_models(database_url: str) -> None:
    engine = sqlalchemy.create_engine(sync_url(database_url))
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert diff == []


def test_downgrade_to_base_and_upgrade_again(database_url: str) -> None:
    downgrade(database_url, "base")
    upgrade(database_url)
    engine = sqlalchemy.create_engine(sync_url(database_url))
    tables = set(sqlalchemy.inspect(engine).get_table_names())
    engine.dispose()
    assert {"tickets", "ticket_events", "sla_events", "outbox", "ticket_numbers"} <= tables
