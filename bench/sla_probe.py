"""What the SLA benchmark reads while and after it runs: the workflows, and when to go on.

- `settle`: wait until the store says the phase is done (`bench.store_probe`: every idle
  ticket recorded, every breach recorded) and the worker is quiet, within a limit.
- After the window: each breaching ticket's `state` query and history
  (`bench.sla_history`), and queries on tickets evicted from the worker's cache.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from temporalio.client import Client, WorkflowHandle

from bench.load import BenchError, run_batch
from bench.procstat import Sampler
from bench.sla_history import BreachTiming, breach_timing
from bench.stats import Series, percentile
from domain.enums import ClockState, Metric
from domain.ticket.views import TicketBrief
from workflows.ticket import TicketWorkflow

QUIET_SECONDS = 5.0
QUIET_CPU_PERCENT = 10.0  # of one core: the worker's pollers alone use far less
POLL_SECONDS = 1.0
PROGRESS_SECONDS = 30.0
ANALYSIS_CONCURRENCY = 8


def say(message: str) -> None:
    print(f"bench: sla: {message}", flush=True)


async def settle(
    what: str,
    done: Callable[[], Awaitable[tuple[bool, str]]],
    sampler: Sampler,
    limit: float,
) -> float:
    """Wait until `done()` and the worker has been quiet for `QUIET_SECONDS`; the seconds taken."""
    started = time.monotonic()
    deadline, next_progress = started + limit, started + PROGRESS_SECONDS
    while True:
        finished, progress = await done()
        cpu = sampler.cpu_percent("worker", QUIET_SECONDS)
        if finished and cpu is not None and cpu < QUIET_CPU_PERCENT:
            return time.monotonic() - started
        now = time.monotonic()
        if now > deadline:
            raise BenchError(f"{what}: not done after {limit:.0f} s ({progress})")
        if now >= next_progress:
            say(f"{what}: {progress}, worker at {cpu or 0:.0f} % CPU")
            next_progress += PROGRESS_SECONDS
        await asyncio.sleep(POLL_SECONDS)


# -- after the window: what the workflows say --------------------------------------------------


async def _bounded(items: Sequence[str], work: Callable[[str], Awaitable[Any]]) -> list[Any]:
    gate = asyncio.Semaphore(ANALYSIS_CONCURRENCY)

    async def one(item: str) -> Any:
        async with gate:
            return await work(item)

    return await asyncio.gather(*(one(item) for item in items))


async def breach_timings(
    client: Client, due: dict[str, datetime]
) -> tuple[list[BreachTiming], int, list[str]]:
    """(timings from the histories, clocks confirmed breached at their due second, problems)."""
    problems: list[str] = []
    confirmed = 0

    async def confirmed_due(ticket_id: str) -> datetime:
        nonlocal confirmed
        handle: WorkflowHandle[TicketWorkflow, TicketBrief] = client.get_workflow_handle_for(
            TicketWorkflow.run, ticket_id
        )
        state = await handle.query(TicketWorkflow.state)
        clock = state.clocks[Metric.FIRST_RESPONSE]
        if clock.state == ClockState.BREACHED and clock.breached_at == due[ticket_id]:
            confirmed += 1
        else:
            problems.append(f"{ticket_id}: {clock.state.value}, breached at {clock.breached_at}")
        return clock.due_at or due[ticket_id]

    ids = sorted(due)
    dues = await _bounded(ids, confirmed_due)
    histories = await _bounded(ids, lambda t: client.get_workflow_handle(t).fetch_history())
    timings = []
    for ticket_id, due_at, history in zip(ids, dues, histories, strict=True):
        timing = breach_timing(ticket_id, history.events, due_at.timestamp())
        if timing is None:
            problems.append(f"{ticket_id}: no workflow task after the due time")
        else:
            timings.append(timing)
    return timings, confirmed, problems


async def cold_queries(client: Client, ticket_ids: Sequence[str]) -> Series:
    """`state` queries, one at a time, on tickets long evicted from the worker's cache.

    Such a query, like a timer firing for an evicted ticket, makes the worker fetch the
    whole history and replay it before it can answer: the cost a breach would pay on top
    of the figures above if its workflow were no longer cached."""

    async def query(index: int) -> None:
        handle: WorkflowHandle[TicketWorkflow, TicketBrief] = client.get_workflow_handle_for(
            TicketWorkflow.run, ticket_ids[index]
        )
        await handle.query(TicketWorkflow.state)

    return await run_batch("sla: query an evicted ticket", len(ticket_ids), 1, query)


def by_quarter(timings: Sequence[BreachTiming]) -> list[dict[str, Any]]:
    """Lateness of the breaches due in each quarter of the window: does a backlog build?"""
    if not timings:
        return []
    first, last = min(t.due_at for t in timings), max(t.due_at for t in timings)
    span = max(last - first, 1e-9)
    quarters: list[list[float]] = [[], [], [], []]
    for t in timings:
        quarters[min(int(4 * (t.due_at - first) / span), 3)].append(t.lateness)
    return [
        {
            "count": len(q),
            "p50_ms": round(percentile(q, 50) * 1000, 1) if q else None,
            "p99_ms": round(percentile(q, 99) * 1000, 1) if q else None,
        }
        for q in quarters
    ]
