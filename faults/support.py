"""Small tools every case uses: free ports, waiting on conditions, percentiles, progress lines."""

from __future__ import annotations

import asyncio
import math
import sys
import time
from collections.abc import Awaitable, Callable, Sequence

from ticketflow.environment import free_port

__all__ = ["FaultError", "eventually", "free_port", "say"]


class FaultError(Exception):
    """The system under test did not reach a state in time; the message says which."""


def say(message: str) -> None:
    """A progress line, timestamped, so a slow run shows where it is."""
    print(f"faults {time.strftime('%H:%M:%S')} {message}", file=sys.stdout, flush=True)


async def eventually(
    what: str,
    check: Callable[[], Awaitable[tuple[bool, str]]],
    *,
    limit: float,
    interval: float = 0.5,
    progress_every: float = 15.0,
) -> float:
    """Poll `check()` (done?, how far) until done; its seconds. FaultError after `limit` s."""
    started = time.monotonic()
    last_note = started
    while True:
        done, status = await check()
        now = time.monotonic()
        if done:
            return now - started
        if now - started > limit:
            raise FaultError(f"{what}: not done after {limit:.0f} s ({status})")
        if now - last_note >= progress_every:
            say(f"  still waiting for {what}: {status}")
            last_note = now
        await asyncio.sleep(interval)


async def sleep_until(deadline: float) -> None:
    """Sleep until `time.time()` reaches `deadline` (a planned instant, not a guess)."""
    await asyncio.sleep(max(0.0, deadline - time.time()))


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def spread(values: Sequence[float]) -> str:
    """`p50 0.123 s · p99 0.456 s · max 0.789 s (n=20)`, or `none` for no values."""
    if not values:
        return "none measured"
    return (
        f"p50 {percentile(values, 50):.3f} s · p99 {percentile(values, 99):.3f} s · "
        f"max {max(values):.3f} s (n={len(values)})"
    )
