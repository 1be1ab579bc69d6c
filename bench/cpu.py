"""CPU time per ticket, from /proc: what each process of the stack spent on one batch.

A batch is measured from its first request until the processes that do its work are quiet
again (`CpuMeter.quiet`), so work left after the last acknowledgment (a workflow task that
follows an activity, a projection write) is counted too. Each process's idle rate (its
pollers, the server's own housekeeping), measured beforehand (`CpuMeter.idle_rates`), is
taken off: what remains is what the batch cost.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from bench.procstat import read_tree

SAMPLE_SECONDS = 0.25
QUIET_SPAN_SECONDS = 1.5
QUIET_CORES = 0.05
"""Above its idle rate, a process using less than this (in cores) over the span is quiet."""


@dataclass(frozen=True)
class CpuSpan:
    """CPU seconds each process used between two readings, and the wall time between them."""

    used: dict[str, float]
    wall: float

    def net(self, name: str, idle_rate: float) -> float | None:
        """Seconds `name` used beyond its idle rate (None: not read at both ends)."""
        if name not in self.used:
            return None
        return max(0.0, self.used[name] - idle_rate * self.wall)


@dataclass
class CpuMeter:
    """Reads the CPU time of named process trees (`ticketflow worker --processes N` counts
    as one, with its children)."""

    pids: dict[str, int]
    idle: dict[str, float] = field(default_factory=dict)
    """Idle rate per process, in cores (CPU seconds per second)."""

    def read(self) -> tuple[float, dict[str, float]]:
        readings = {name: read_tree(pid) for name, pid in self.pids.items()}
        return time.monotonic(), {n: r.cpu_seconds for n, r in readings.items() if r is not None}

    @staticmethod
    def span(start: tuple[float, dict[str, float]], end: tuple[float, dict[str, float]]) -> CpuSpan:
        (t0, first), (t1, last) = start, end
        used = {name: last[name] - first[name] for name in last if name in first}
        return CpuSpan(used=used, wall=t1 - t0)

    async def idle_rates(self, seconds: float = 3.0) -> dict[str, float]:
        """Measure (and keep) each process's rate while nothing is asked of the stack."""
        start = self.read()
        await asyncio.sleep(seconds)
        span = self.span(start, self.read())
        self.idle = {name: used / span.wall for name, used in span.used.items()}
        return self.idle

    def per_ticket_ms(self, span: CpuSpan, count: int) -> dict[str, float]:
        """Milliseconds per ticket of every process read at both ends, idle rate taken off."""
        result = {}
        for name in span.used:
            net = span.net(name, self.idle.get(name, 0.0))
            if net is not None and count:
                result[name] = round(1000 * net / count, 2)
        return result

    async def quiet(
        self, names: Iterable[str], limit: float = 300.0
    ) -> tuple[float, dict[str, float]]:
        """Wait until each of `names` has used at most its idle rate + `QUIET_CORES` over the
        last `QUIET_SPAN_SECONDS` (or `limit` seconds passed); the last reading."""
        watched = [n for n in names if n in self.pids]
        history = [self.read()]
        deadline = history[0][0] + limit
        while True:
            await asyncio.sleep(SAMPLE_SECONDS)
            now = self.read()
            history.append(now)
            old = [h for h in history if h[0] <= now[0] - QUIET_SPAN_SECONDS]
            if old:
                span = self.span(old[-1], now)
                busy = [
                    n
                    for n in watched
                    if n in span.used
                    and span.used[n] / span.wall > self.idle.get(n, 0.0) + QUIET_CORES
                ]
                if not busy or now[0] > deadline:
                    return now
