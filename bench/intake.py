"""Intake (issue 2): bare `start_workflow` starts/s against tickets acknowledged/s.

(a) `client.start_workflow` of `NoopWorkflow`, `count` times at `concurrency`:
    the rate at which this Temporal server accepts starts.
(b) `POST /v1/tickets`, `count` times at `concurrency`, timed from the first
    request until every ticket is acknowledged (row in the store, ack email
    accepted by the SMTP sink). `ratio` = (b) / (a).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.bare import NoopWorkflow
from bench.context import ACK_TIMEOUT_SECONDS, Context
from bench.history import ticket_phases
from bench.load import run_batch
from bench.stats import Series, ratio, rounded, verdict

RATIO_GOAL = 0.7  # at least


async def warm_up(ctx: Context) -> None:
    """One of each, unmeasured: first calls pay for connections and the workers' set-up."""
    await ctx.client.execute_workflow(
        NoopWorkflow.run, id=f"noop-{ctx.run_id}-warm", task_queue=ctx.task_queue
    )
    tickets = [await ctx.api.create_ticket(i, f"{ctx.run_id}-warm") for i in range(2)]
    await ctx.ack.wait(tickets, ACK_TIMEOUT_SECONDS)


async def bare_starts(ctx: Context, count: int, concurrency: int) -> Series:
    handles = []

    async def start(index: int) -> None:
        handles.append(
            await ctx.client.start_workflow(
                NoopWorkflow.run, id=f"noop-{ctx.run_id}-{index}", task_queue=ctx.task_queue
            )
        )

    series = await run_batch("intake (a): bare start_workflow", count, concurrency, start)
    # Not timed: let the bench worker finish them, so they do not overlap (b).
    await asyncio.gather(*(handle.result() for handle in handles))
    return series


async def tickets_acknowledged(
    ctx: Context, count: int, concurrency: int
) -> tuple[Series, Series, list[str]]:
    """(HTTP request -> 201 per ticket, request -> acknowledged per ticket, the ticket ids)."""
    requested_at: dict[str, float] = {}

    async def create(index: int) -> None:
        started = time.perf_counter()
        requested_at[await ctx.api.create_ticket(index, ctx.run_id)] = started

    stop = asyncio.Event()
    follower = asyncio.create_task(ctx.ack.follow(lambda: list(requested_at), stop))
    started = time.perf_counter()
    try:
        created = await run_batch("intake (b): POST /v1/tickets -> 201", count, concurrency, create)
    finally:
        stop.set()
        await follower
    await ctx.ack.wait(requested_at, ACK_TIMEOUT_SECONDS)
    acked_at = {t: ctx.ack.acked_at[t] for t in requested_at}
    acknowledged = Series(
        name="intake (b): POST -> acknowledged",
        latencies=[acked_at[t] - requested_at[t] for t in requested_at],
        elapsed=max(acked_at.values()) - started,
        concurrency=created.concurrency,
    )
    return created, acknowledged, sorted(requested_at)


async def run_intake(
    ctx: Context, count: int, concurrency: int
) -> tuple[list[Series], dict[str, Any]]:
    await warm_up(ctx)
    bare = await bare_starts(ctx, count, concurrency)
    created, acknowledged, ticket_ids = await tickets_acknowledged(ctx, count, concurrency)
    intake_ratio = ratio(acknowledged.rate, bare.rate)
    phases = await ticket_phases(ctx.client, ticket_ids)
    result = {
        "bare_start": bare.summary(),
        "http_create": created.summary(),
        "acknowledged": acknowledged.summary(),
        "ratio": rounded(intake_ratio, 3),
        "ratio_goal_at_least": RATIO_GOAL,
        "ratio_verdict": verdict(intake_ratio, at_least=RATIO_GOAL),
        "phases_histories": phases.histories,
        "phases": phases.summary(),
    }
    return [bare, created, acknowledged], result
