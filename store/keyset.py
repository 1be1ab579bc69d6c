"""Keyset pagination for every list the API serves from the store: a page is ordered by a
time column and the id, and the cursor is the last row's (time, id), opaque to clients.

Stable under inserts (a new row never shifts a later page) and one index range per page,
where OFFSET would rescan every row before it.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from domain.errors import InvalidCursor

Row = TypeVar("Row")


def encode(at: datetime, key: str) -> str:
    payload = json.dumps([at.isoformat(), key])
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode(cursor: str) -> tuple[datetime, str]:
    """Raises InvalidCursor on anything that is not a cursor this module made."""
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        at, key = json.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(at), str(key)
    except (ValueError, TypeError) as err:
        raise InvalidCursor("cursor: invalid cursor") from err


async def fetch_page(
    session: AsyncSession,
    stmt: Select[Row],
    *,
    at: InstrumentedAttribute[datetime],
    key: InstrumentedAttribute[str],
    limit: int,
    cursor: str | None,
    newest_first: bool,
) -> tuple[list[Row], str | None]:
    """One page of `stmt`'s entities ordered by (`at`, `key`), after the cursor's row, and
    the cursor of the next page (None on the last). Raises InvalidCursor on a bad cursor."""
    if cursor:
        at_value, key_value = decode(cursor)
        if newest_first:
            stmt = stmt.where(or_(at < at_value, and_(at == at_value, key < key_value)))
        else:
            stmt = stmt.where(or_(at > at_value, and_(at == at_value, key > key_value)))
    order = (at.desc(), key.desc()) if newest_first else (at.asc(), key.asc())
    rows = (await session.scalars(stmt.order_by(*order).limit(limit + 1))).all()
    page = list(rows[:limit])
    if len(rows) <= limit:
        return page, None
    last = page[-1]
    return page, encode(getattr(last, at.key), getattr(last, key.key))
