"""Memory against open tickets, and the cost of waking an evicted ticket (`--only memory`).

The ticket worker runs with a bounded workflow cache (`--worker-cache`, default 2,000 here).
Idle tickets (settled, as in the sla benchmark: `bench.sla_tickets`) are started in steps
(`--memory-steps`, default 10,000, 20,000, 30,000 open); after each step has been recorded
and the worker is quiet, RSS is sampled while idle. RSS that does not grow with open
tickets is flat (within +-10 %) from the first step to the last.

Before the last step, `--wakers` P1 tickets are started whose first timer (their at-risk
point, 80 % of a first-response target chosen for it) fires after the last step: by then
thousands of newer tickets have pushed them out of the cache, so that first wakeup replays
the whole history. Their breach, a little later, finds them cached again. From their
histories: the workflow task after each timer, on the sticky queue or not, its queue wait
and its run on the worker (the replay is in the run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from temporalio.api.enums.v1 import EventType, TaskQueueKind
from temporalio.api.history.v1 import HistoryEvent

from bench.context import Context
from bench.load import BenchError
from bench.procstat import MIB, Sampler
from bench.sla import watched_pids
from bench.sla_probe import cold_queries, say, settle
from bench.sla_start import start_all, workflow_backlog
from bench.sla_tickets import TicketFactory, breach_due_times, ticket_id
from bench.stats import Series, percentile, rounded, verdict
from runtime.policy_file import load_policy
from runtime.settings import DEFAULT_POLICY_FILE

DEFAULT_CACHE = 2000
FLAT_GOAL = 0.10  # RSS may move this much from the first step to the last
IDLE_SAMPLE_SECONDS = 15.0
WAKE_WINDOW_SECONDS = 20.0
AT_RISK_SHARE = 0.8  # the default policy's at-risk point, of the first-response target
MARGIN_SECONDS = 90.0
START_CONCURRENCY = 64


def add_memory_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("memory (--only memory)")
    group.add_argument(
        "--memory-steps",
        default="10000,20000,30000",
        metavar="N,N,...",
        help="open tickets at which RSS is sampled (default 10000,20000,30000)",
    )
    group.add_argument(
        "--wakers",
        type=int,
        default=100,
        help="tickets woken after eviction (default 100)",
    )


def memory_cache(args: argparse.Namespace) -> int:
    return int(args.worker_cache) if args.worker_cache else DEFAULT_CACHE


def memory_steps(text: str) -> list[int]:
    steps = [int(part) for part in text.split(",") if part.strip()]
    if not steps or steps != sorted(steps) or steps[0] < 1 or len(set(steps)) != len(steps):
        raise BenchError(f"--memory-steps {text!r}: give increasing counts, e.g. 10000,20000")
    return steps


# -- wakeups, from a history --------------------------------------------------------------------


@dataclass(frozen=True)
class Wakeup:
    """The workflow task a timer caused: where it was queued and how long it took."""

    fired: float
    sticky: bool
    queue_wait: float
    run: float
    """started -> completed: the worker's time, a replay included"""


def _seconds(event: HistoryEvent) -> float:
    return event.event_time.seconds + event.event_time.nanos / 1e9


def wakeups(events: Iterable[HistoryEvent]) -> list[Wakeup]:
    """For each timer that fired, the workflow task scheduled after it (in history order)."""
    found: list[Wakeup] = []
    fired: float | None = None
    scheduled: dict[int, tuple[float, bool, float | None]] = {}
    started: dict[int, tuple[float, int]] = {}
    for event in events:
        kind, at = event.event_type, _seconds(event)
        if kind == EventType.EVENT_TYPE_TIMER_FIRED:
            fired = at
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            queue = event.workflow_task_scheduled_event_attributes.task_queue
            sticky = queue.kind == TaskQueueKind.TASK_QUEUE_KIND_STICKY
            scheduled[event.event_id] = (at, sticky, fired)
            fired = None
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            origin = event.workflow_task_started_event_attributes.scheduled_event_id
            started[event.event_id] = (at, origin)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            begun = started.get(event.workflow_task_completed_event_attributes.started_event_id)
            if begun is None or begun[1] not in scheduled:
                continue
            queued_at, sticky, by_timer = scheduled[begun[1]]
            if by_timer is not None:
                found.append(Wakeup(by_timer, sticky, begun[0] - queued_at, at - begun[0]))
    return found


def wake_summary(woken: Sequence[Wakeup]) -> dict[str, Any]:
    def ms(values: list[float], q: float) -> float | None:
        return round(percentile(values, q) * 1000, 1) if values else None

    runs, waits = [w.run for w in woken], [w.queue_wait for w in woken]
    return {
        "count": len(woken),
        "sticky": sum(w.sticky for w in woken),
        "run_p50_ms": ms(runs, 50),
        "run_p99_ms": ms(runs, 99),
        "queue_wait_p50_ms": ms(waits, 50),
        "queue_wait_p99_ms": ms(waits, 99),
    }


# -- the run ----------------------------------------------------------------------------------


async def run_memory(ctx: Context, args: argparse.Namespace) -> tuple[list[Series], dict[str, Any]]:
    steps, cache = memory_steps(args.memory_steps), memory_cache(args)
    factory = TicketFactory(load_policy(DEFAULT_POLICY_FILE), ctx.run_id)
    prefix = f"SLA-{ctx.run_id}-I"
    sampler = Sampler(watched_pids(ctx) | {"bench": os.getpid()})
    stop = asyncio.Event()
    sampling = asyncio.create_task(sampler.run(stop))
    rows: list[dict[str, Any]] = []
    series: list[Series] = []
    wake_due: dict[str, datetime] = {}
    open_now, last_step_seconds = 0, 0.0

    async def recorded(target: int) -> tuple[bool, str]:
        stored = await asyncio.to_thread(ctx.store.tickets_stored, prefix)
        backlog = await workflow_backlog(ctx.client)
        done = stored >= target and backlog == 0
        return done, f"{stored} of {target} recorded, {backlog} workflow tasks queued"

    try:
        for number, target in enumerate(steps):
            if number == len(steps) - 1 and args.wakers:
                lead = (last_step_seconds * (target - open_now) / max(open_now, 1)) + MARGIN_SECONDS
                wake_due = await start_wakers(ctx, factory, args.wakers, lead)
            began = time.monotonic()
            sampler.phase = f"create {target}"
            say(f"memory: starting tickets {open_now + 1}-{target} (settled)")
            offset = open_now

            def idle(index: int, offset: int = offset) -> Any:
                return factory.idle(offset + index, datetime.now(UTC))

            series.append(
                await start_all(
                    ctx,
                    f"memory: start tickets to {target}",
                    target - open_now,
                    START_CONCURRENCY,
                    idle,
                    settled=True,
                )
            )
            await settle("memory", partial(recorded, target), sampler, limit=600 + 0.1 * target)
            last_step_seconds, open_now = time.monotonic() - began, target
            sampler.phase = f"idle {target}"
            await asyncio.sleep(IDLE_SAMPLE_SECONDS)
            rows.append({"open_tickets": target, "step_seconds": round(last_step_seconds, 1)})
        if wake_due:
            last_due = max(wake_due.values())
            sampler.phase = "wakers"
            await asyncio.sleep(max(0.0, (last_due - datetime.now(UTC)).total_seconds() + 10))
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await sampling
    for row in rows:
        row |= rss_at(sampler, f"idle {row['open_tickets']}")
    result: dict[str, Any] = {"cache": cache, "steps": rows}
    first, last = rows[0].get("worker_rss_mib"), rows[-1].get("worker_rss_mib")
    growth = None if not first or not last else last / first - 1
    result |= {
        "worker_rss_growth": rounded(growth, 3),
        "flat_goal": FLAT_GOAL,
        "flat_verdict": verdict(None if growth is None else abs(growth), at_most=FLAT_GOAL),
    }
    if wake_due:
        result["wakeups"] = await waker_figures(ctx, sorted(wake_due))
    first_ids = [ticket_id(ctx.run_id, "I", i) for i in range(50)]
    if steps[-1] > cache + 100:
        cold = await cold_queries(ctx.client, first_ids)
        result["cold_query"] = cold.summary()
        series.append(cold)
    return series, result


async def start_wakers(
    ctx: Context, factory: TicketFactory, count: int, lead: float
) -> dict[str, datetime]:
    """P1 tickets whose at-risk point comes `lead` seconds from now, over a short window."""
    target = lead / AT_RISK_SHARE
    window_start = datetime.now(UTC) + timedelta(seconds=target)
    due_times = breach_due_times(window_start, WAKE_WINDOW_SECONDS, count)
    due: dict[str, datetime] = {}

    def waker(index: int) -> Any:
        planned = factory.breaching(index, datetime.now(UTC), due_times[index])
        due[planned.ticket_id] = due_times[index]
        return planned

    say(f"memory: {count} wakers, first timers about {lead:.0f} s from now")
    await start_all(ctx, "memory: start wakers", count, START_CONCURRENCY, waker)
    return due


def rss_at(sampler: Sampler, phase: str) -> dict[str, Any]:
    own = [s for s in sampler.samples if s.phase == phase]
    out: dict[str, Any] = {}
    for name in ("worker", "temporal"):
        rss = [s.readings[name].rss for s in own if name in s.readings]
        if rss:
            out[f"{name}_rss_mib"] = round(statistics.median(rss) / MIB, 1)
    return out


async def waker_figures(ctx: Context, ids: list[str]) -> dict[str, Any]:
    histories = [
        await ctx.client.get_workflow_handle(t).fetch_history() for t in ids
    ]  # one at a time: the machine is quiet by now and the order does not matter
    evicted, cached = [], []
    for history in histories:
        woken = wakeups(history.events)
        if woken:
            evicted.append(woken[0])
        if len(woken) > 1:
            cached.append(woken[1])
    return {"first_wakeup": wake_summary(evicted), "next_wakeup": wake_summary(cached)}
