from __future__ import annotations

from datetime import UTC, datetime

import pytest

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
    with pytest.raises(keyset.BadCursor, match="invalid cursor"):
        keyset.decode(cursor)


def test_split_page_gives_a_cursor_only_when_more_rows_follow() -> None:
    at = datetime(2026, 11, 30, tzinfo=UTC)
    rows = [(at, f"A{i}") for i in range(3)]
    page, after = keyset.split_page(rows, limit=2, position=lambda r: r)
    assert page == rows[:2]
    assert after is not None
    assert keyset.decode(after) == rows[1]
    assert keyset.split_page(rows[:2], limit=2, position=lambda r: r) == (rows[:2], None)
