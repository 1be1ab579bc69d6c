"""Pure helpers of the bench: percentiles, ratios, the printed table and the JSON document."""

from __future__ import annotations

import math
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

RESULT_FORMAT = "ticketflow-bench/1"


def percentile(values: Sequence[float], q: float) -> float:
    """The `q`-th percentile (0..100) with linear interpolation between ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0..100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """`numerator / denominator`, or None when either is missing or the denominator is not > 0."""
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def format_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def verdict(
    value: float | None, *, at_least: float | None = None, at_most: float | None = None
) -> str:
    """`met` or `NOT met` against a goal given as a lower or an upper bound."""
    if value is None:
        return "unknown"
    ok = (at_least is None or value >= at_least) and (at_most is None or value <= at_most)
    return "met" if ok else "NOT met"


@dataclass
class Series:
    """One measured operation: per-operation latencies (seconds) and the wall time of the batch."""

    name: str
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    concurrency: int = 1

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float | None:
        """Operations per second over the batch's wall time."""
        return ratio(self.count, self.elapsed)

    def ms(self, q: float) -> float | None:
        return percentile(self.latencies, q) * 1000 if self.latencies else None

    def summary(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "concurrency": self.concurrency,
            "elapsed_s": round(self.elapsed, 4),
            "rate_per_s": rounded(self.rate),
            "p50_ms": rounded(self.ms(50)),
            "p99_ms": rounded(self.ms(99)),
        }


def rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _cell(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


TABLE_HEADER = ("figure", "n", "conc", "rate/s", "p50 ms", "p99 ms")


def table_rows(series: Sequence[Series]) -> list[tuple[str, ...]]:
    return [
        (s.name, str(s.count), str(s.concurrency), _cell(s.rate), _cell(s.ms(50)), _cell(s.ms(99)))
        for s in series
    ]


def format_table(rows: Sequence[Sequence[str]], header: Sequence[str] = TABLE_HEADER) -> str:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    all_rows = [tuple(header), *(tuple(r) for r in rows)]
    widths = [max(len(row[i]) for row in all_rows) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(all_rows[0]), rule, *(line(r) for r in all_rows[1:])])


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "executable": sys.executable,
    }


def result_document(
    *, command: str, params: dict[str, Any], results: dict[str, dict[str, Any]], started_at: str
) -> dict[str, Any]:
    """The `--json` file: one object per benchmark under `results`, each with its `ratios`."""
    return {
        "format": RESULT_FORMAT,
        "command": command,
        "started_at": started_at,
        "machine": machine(),
        "params": params,
        "results": results,
    }
