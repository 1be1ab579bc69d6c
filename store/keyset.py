"""Keyset pagination for every list the API serves from the store: a page is ordered by a
time column and the id, and the cursor is the last row's (time, id), opaque to clients.

Stable under inserts (a new row never shifts a later page) and one index range per page,
where OFFSET would rescan every row before it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, and_, or_

Row = TypeVar("Row")


class BadCursor(ValueError):
    """A cursor this module did not make (the API answers 422)."""


def encode(at: datetime, key: str) -> str:
    payload = json.dumps([at.isoformat(), key])
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode(cursor: str) -> tuple[datetime, str]:
    """Raises BadCursor on anything that is not a cursor this module made."""
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        at, key = json.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(at), str(key)
    except (ValueError, TypeError) as err:
        raise BadCursor("invalid cursor") from err


def ordered_page(
    stmt: Select[Any],
    *,
    at: Any,
    key: Any,
    limit: int,
    cursor: str | None,
    newest_first: bool,
) -> Select[Any]:
    """`stmt` ordered by (`at`, `key`), after the cursor's row, one row more than a page (so
    the caller knows whether another page follows). Raises BadCursor on a bad cursor."""
    if cursor:
        at_value, key_value = decode(cursor)
        if newest_first:
            stmt = stmt.where(or_(at < at_value, and_(at == at_value, key < key_value)))
        else:
            stmt = stmt.where(or_(at > at_value, and_(at == at_value, key > key_value)))
    order = (at.desc(), key.desc()) if newest_first else (at.asc(), key.asc())
    return stmt.order_by(*order).limit(limit + 1)


def split_page(
    rows: Sequence[Row], *, limit: int, position: Callable[[Row], tuple[datetime, str]]
) -> tuple[list[Row], str | None]:
    """The page, and the cursor of the next one (None on the last page)."""
    page = list(rows[:limit])
    return page, (encode(*position(page[-1])) if len(rows) > limit else None)
