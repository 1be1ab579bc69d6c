"""Durations as the policy file writes them: "30m", "4h", "2h30m", "7d", or seconds."""

from __future__ import annotations

import pytest

from domain.sla.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90),
        ("30m", 1800),
        ("4h", 14400),
        ("2h30m", 9000),
        ("7d", 604800),
        ("1w", 604800),
        ("1d 2h", 93600),
        (3600, 3600),
        (0, 0),
    ],
)
def test_parse_duration(text: str | int, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["3x", "", "30", "h", "1.5h", "30m2h", -5, True, None, 2.0])
def test_parse_duration_rejects(text: object) -> None:
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


@pytest.mark.parametrize("seconds", [0, 1, 59, 60, 3600, 9000, 86400, 694861])
def test_format_duration_round_trips(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds
