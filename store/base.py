"""The declarative base and the column types every table of the store shares."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, BigInteger, DateTime, Integer, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

# BIGINT on Postgres, INTEGER on SQLite (so SQLite's rowid autoincrement applies).
BigIntId = BigInteger().with_variant(Integer(), "sqlite")
# JSONB would be nicer on Postgres, but nothing queries inside these documents.
Document = JSON()


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend.

    PostgreSQL keeps the offset (timestamptz); SQLite stores text without one, so values
    come back naive: they were written as UTC, and are handed back as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            return value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    pass
