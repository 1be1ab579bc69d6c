"""Durations as written in the policy file ("30m", "4h", "2h30m", "7d", "90s") and as ints.

A duration is always a whole number of seconds once parsed. Units, largest first and each at
most once: w (weeks), d (days), h (hours), m (minutes), s (seconds). A bare integer (from YAML)
means seconds; a bare number inside a string ("30") is rejected because its unit is ambiguous.
`d` and `w` are always 86,400 and 604,800 seconds of whatever the clock counts: on a
business-hours calendar "7d" is 168 business hours.

SLA targets also take business days, "3bd" (`SlaTarget`, `BusinessDays`): a whole number of
the calendar's open days, alone (not combined with other units); what it means on a calendar
is `domain.sla.business_days`.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_serializer

_UNIT_SECONDS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_BUSINESS_DAYS_RE = re.compile(r"^\s*(\d+)\s*bd\s*$", re.IGNORECASE)
_DURATION_RE = re.compile(
    r"^\s*(?:(?P<w>\d+)\s*w)?\s*(?:(?P<d>\d+)\s*d)?\s*(?:(?P<h>\d+)\s*h)?"
    r"\s*(?:(?P<m>\d+)\s*m)?\s*(?:(?P<s>\d+)\s*s)?\s*$",
    re.IGNORECASE,
)


def parse_duration(value: object) -> int:
    """Seconds in `value`: an int of seconds or a string like "2h30m". Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"invalid duration {value!r}: expected e.g. '30m', '4h', '2h30m', '7d'")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"invalid duration {value!r}: must not be negative")
        return value
    if isinstance(value, str):
        match = _DURATION_RE.match(value)
        if match is not None and any(match.groupdict().values()):
            return sum(
                int(amount) * _UNIT_SECONDS[unit]
                for unit, amount in match.groupdict().items()
                if amount is not None
            )
        if _BUSINESS_DAYS_RE.match(value):
            raise ValueError(
                f"invalid duration {value!r}: business days ('3bd') are accepted in SLA targets"
                " only"
            )
    raise ValueError(f"invalid duration {value!r}: expected e.g. '30m', '4h', '2h30m', '7d', '90s'")


def format_duration(seconds: int) -> str:
    """The compact form of `seconds`: 9000 -> "2h30m", 0 -> "0s". Inverse of parse_duration."""
    if seconds < 0:
        raise ValueError(f"negative duration {seconds}")
    if seconds == 0:
        return "0s"
    parts: list[str] = []
    rest = seconds
    for unit in ("d", "h", "m", "s"):
        amount, rest = divmod(rest, _UNIT_SECONDS[unit])
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts)


def parse_positive_duration(value: object) -> int:
    """Like parse_duration, but zero is rejected too (an SLA target of 0s is a typo)."""
    seconds = parse_duration(value)
    if seconds == 0:
        raise ValueError(f"invalid duration {value!r}: must be greater than zero")
    return seconds


class BusinessDays(BaseModel):
    """An SLA target of `days` open days of the clock's calendar; written and serialised "3bd"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    days: int = Field(ge=1, le=366)

    @model_serializer
    def _as_text(self) -> str:
        return str(self)

    def __str__(self) -> str:
        return f"{self.days}bd"


def parse_sla_target(value: object) -> object:
    """An SLA target: "3bd" (or {"days": 3}) as BusinessDays, else a positive duration."""
    if isinstance(value, BusinessDays | dict):
        return value
    if isinstance(value, str):
        match = _BUSINESS_DAYS_RE.match(value)
        if match is not None:
            days = int(match[1])
            if not 1 <= days <= 366:
                raise ValueError(f"invalid duration {value!r}: 1 to 366 business days")
            return BusinessDays(days=days)
    return parse_positive_duration(value)


# A field annotated with `Duration` accepts "2h30m" or 9000 and holds the int 9000, which is
# also what it serialises to, so a dumped model (a workflow input) validates again unchanged.
Duration = Annotated[int, BeforeValidator(parse_duration)]
PositiveDuration = Annotated[int, BeforeValidator(parse_positive_duration)]
# An SLA target: seconds of business time, or whole business days ("3bd"), which a clock turns
# into seconds when it starts (`domain.sla.business_days`); dumps as 9000 or "3bd".
SlaTarget = Annotated[int | BusinessDays, BeforeValidator(parse_sla_target)]
