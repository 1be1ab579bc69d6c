"""The figures of the metrics summary (`store.reporting`): what each metric adds up to, and
the two pure helpers behind them (percentages, nearest-rank percentiles)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Volume:
    created: int
    by_channel: dict[str, int]
    by_category: dict[str, int]


@dataclass(frozen=True)
class FirstResponse:
    count: int
    median_seconds: float | None
    p90_seconds: float | None
    within_sla_percent: float | None


@dataclass(frozen=True)
class WithinSla:
    first_cycle: float | None
    all_cycles: float | None


@dataclass(frozen=True)
class Resolution:
    count: int
    median_seconds: float | None
    p90_seconds: float | None
    within_sla_percent: WithinSla


@dataclass(frozen=True)
class Compliance:
    finished: int
    breached: int
    percent: float | None


@dataclass(frozen=True)
class Rate:
    count: int
    total: int
    percent: float | None


@dataclass(frozen=True)
class Csat:
    average: float | None
    answered: int
    requested: int
    responded: int
    response_rate_percent: float | None


@dataclass(frozen=True)
class Backlog:
    open: int
    by_status: dict[str, int]
    by_priority: dict[str, int]
    by_team: dict[str, int]


@dataclass(frozen=True)
class Summary:
    volume: Volume
    first_response: FirstResponse
    resolution: Resolution
    sla_compliance: dict[str, Compliance]
    first_contact_resolution: Rate
    escalation_rate: Rate
    reopen_rate: Rate
    csat: Csat
    backlog: Backlog


def percent(part: int, whole: int) -> float | None:
    """`part / whole` as 0-100 rounded to one decimal; None when there is nothing to divide."""
    return round(100 * part / whole, 1) if whole else None
