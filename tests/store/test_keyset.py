from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.errors import InvalidCursor
from store import keyset


def test_a_cursor_round_trips_its_position() -> None:
    at = datetime(2026, 11, 30, 9, 15, 0, 123456, tzinfo=UTC)
    cursor = keyset.encode(at, "TKT-000042")
    assert "=" not in cursor
    assert keyset.decode(cursor) == (at, "TKT-000042")


@pytest.mark.parametrize(
    "cursor", ["not-a-cursor", "", "W10", keyset.encode(datetime.now(UTC), "x")[:-3]]
)
def test_a_forged_cursor_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor, match="invalid cursor"):
        keyset.decode(cursor)
