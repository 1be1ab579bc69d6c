"""Intake (issue 10): our tickets against anchors of the same shape, on the same server.

Four batches of `count`, `concurrency` in flight, one after another:
(a) *bare*: `client.start_workflow(NoopWorkflow)`: the starts this server accepts per second.
(b) *shape anchor*: `IntakeAnchorWorkflow` whose two activities do nothing (`bench.anchors`),
    acknowledged when both have completed (read from its history).
(c) *minimal anchor*: the same whose activities insert the row and send the email,
    acknowledged as a ticket is.
(d) *ours*: `POST /v1/tickets`, acknowledged when the row is in the store and the sink has
    the acknowledgment (`bench.probe.AckWatch`).
Rates count from a batch's first request to its last acknowledgment. CPU per ticket counts
from the first request until the worker and the server are quiet again (`bench.cpu`).
`intake ratio vs shape` = (d) / (b); `worker cpu ms per ticket vs minimal` = (d) / (c).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from bench.anchor_client import activities_done_at, anchor_intake, start_anchor
from bench.bare import NoopWorkflow
from bench.context import ACK_TIMEOUT_SECONDS, Context
from bench.cpu import CpuMeter
from bench.history import ticket_phases
from bench.load import BenchError, run_batch
from bench.profile import Profiler
from bench.stats import Series, ratio, rounded, verdict

SHAPE_RATIO_GOAL = 1.5  # at least: ours over the shape anchor
CPU_RATIO_GOAL = 2.0  # at most: our worker's CPU per ticket over the minimal anchor's
HISTORY_CONCURRENCY = 16
SERVER = "temporal"


@dataclass
class Batch:
    """One measured batch: its acknowledged series, CPU ms per ticket per process, and ids."""

    acknowledged: Series
    cpu_ms: dict[str, float]
    ids: list[str]
    extra: list[Series] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return self.acknowledged.summary() | {"cpu_ms_per_ticket": self.cpu_ms}


async def gather_bounded(items: list[str], work: Any) -> list[Any]:
    gate = asyncio.Semaphore(HISTORY_CONCURRENCY)

    async def one(item: str) -> Any:
        async with gate:
            return await work(item)

    return await asyncio.gather(*(one(item) for item in items))


class IntakeBench:
    """The four batches, measured with one `CpuMeter` whose idle rates are taken first."""

    def __init__(self, ctx: Context, count: int, concurrency: int) -> None:
        self.ctx = ctx
        self.count = count
        self.concurrency = concurrency
        self.meter = CpuMeter(ctx.stack.pids())
        self.batches: dict[str, Batch] = {}

    async def warm_up(self) -> None:
        """One of each, unmeasured: first calls pay for connections and the workers' set-up."""
        ctx = self.ctx
        await ctx.client.execute_workflow(
            NoopWorkflow.run, id=f"noop-{ctx.run_id}-warm", task_queue=ctx.task_queue
        )
        for minimal in (False, True):
            intake = anchor_intake(ctx, 999_999, minimal=minimal)
            await start_anchor(ctx.client, ctx.task_queue, intake)
        tickets = [await ctx.api.create_ticket(i, f"{ctx.run_id}-warm") for i in range(2)]
        await ctx.ack.wait(
            [*tickets, anchor_intake(ctx, 999_999, minimal=True).ticket_id], ACK_TIMEOUT_SECONDS
        )
        await self.meter.quiet(self.meter.pids)
        await self.meter.idle_rates()

    async def bare(self) -> Batch:
        ctx, handles = self.ctx, []

        async def start(index: int) -> None:
            handles.append(
                await ctx.client.start_workflow(
                    NoopWorkflow.run, id=f"noop-{ctx.run_id}-{index}", task_queue=ctx.task_queue
                )
            )

        begin = self.meter.read()
        series = await run_batch(
            "intake (a): bare start_workflow", self.count, self.concurrency, start
        )
        await asyncio.gather(*(handle.result() for handle in handles))
        end = await self.meter.quiet(["yardstick", SERVER])
        return Batch(series, self.meter.per_ticket_ms(self.meter.span(begin, end), self.count), [])

    async def shape(self) -> Batch:
        ctx, requested = self.ctx, {}

        async def start(index: int) -> None:
            intake = anchor_intake(ctx, index, minimal=False)
            requested[intake.ticket_id] = time.time()
            await start_anchor(ctx.client, ctx.task_queue, intake)

        begin, first = self.meter.read(), time.time()
        await run_batch("shape anchor starts", self.count, self.concurrency, start)
        end = await self.meter.quiet(["yardstick", SERVER])
        ids = sorted(requested)
        deadline = time.monotonic() + ACK_TIMEOUT_SECONDS
        while True:
            done = await gather_bounded(ids, lambda w: activities_done_at(ctx.client, w, 2))
            if all(d is not None for d in done) or time.monotonic() > deadline:
                break
            await asyncio.sleep(1.0)
        if any(d is None for d in done):
            raise BenchError("shape anchors: some never completed their two activities")
        acked = dict(zip(ids, done, strict=True))
        series = Series(
            name="intake (b): shape anchor -> acknowledged",
            latencies=[acked[w] - requested[w] for w in ids],
            elapsed=max(acked.values()) - first,
            concurrency=min(self.concurrency, self.count),
        )
        return Batch(series, self.meter.per_ticket_ms(self.meter.span(begin, end), self.count), ids)

    async def acknowledged(
        self, name: str, create: Any, workers: list[str]
    ) -> tuple[Series, Batch]:
        """Create `count` things with `create(index) -> id`, acknowledged as tickets are."""
        ctx, requested_at = self.ctx, {}

        async def one(index: int) -> None:
            started = time.perf_counter()
            requested_at[await create(index)] = started

        stop = asyncio.Event()
        follower = asyncio.create_task(ctx.ack.follow(lambda: list(requested_at), stop))
        begin = self.meter.read()
        started = time.perf_counter()
        try:
            created = await run_batch(f"{name} -> 201", self.count, self.concurrency, one)
        finally:
            stop.set()
            await follower
        await ctx.ack.wait(requested_at, ACK_TIMEOUT_SECONDS)
        end = await self.meter.quiet([*workers, SERVER])
        acked_at = {t: ctx.ack.acked_at[t] for t in requested_at}
        series = Series(
            name=f"{name} -> acknowledged",
            latencies=[acked_at[t] - requested_at[t] for t in requested_at],
            elapsed=max(acked_at.values()) - started,
            concurrency=created.concurrency,
        )
        cpu = self.meter.per_ticket_ms(self.meter.span(begin, end), self.count)
        return created, Batch(series, cpu, sorted(requested_at))

    async def minimal(self) -> Batch:
        ctx = self.ctx

        async def create(index: int) -> str:
            intake = anchor_intake(ctx, index, minimal=True)
            await start_anchor(ctx.client, ctx.task_queue, intake)
            return intake.ticket_id

        _, batch = await self.acknowledged("intake (c): minimal anchor", create, ["yardstick"])
        return batch

    async def ours(self, label: str = "", workers: tuple[str, ...] = ("worker",)) -> Batch:
        ctx = self.ctx
        run = ctx.run_id + "".join(c for c in label if c.isalnum())  # in email addresses

        async def create(index: int) -> str:
            return await ctx.api.create_ticket(index, run)

        name = f"intake (d): POST /v1/tickets{label}"
        created, batch = await self.acknowledged(name, create, [*workers, "api"])
        batch.acknowledged.name = f"intake (d): POST -> acknowledged{label}"
        batch.extra = [created]
        return batch


def worker_cpu(batch: Batch, workers: tuple[str, ...] = ("worker",)) -> float | None:
    values = [batch.cpu_ms[w] for w in workers if w in batch.cpu_ms]
    return sum(values) if values else None


async def run_intake(
    ctx: Context, count: int, concurrency: int, profiler: Profiler | None = None
) -> tuple[list[Series], dict[str, Any], IntakeBench]:
    """The four batches; `profiler` (py-spy) samples the worker and the API during ours."""
    bench = IntakeBench(ctx, count, concurrency)
    await bench.warm_up()
    bare = await bench.bare()
    shape = await bench.shape()
    minimal = await bench.minimal()
    profiles: dict[str, Any] = {}
    if profiler is not None:
        profiler.start()
        await asyncio.sleep(1.0)  # py-spy attaches
    try:
        ours = await bench.ours()
    finally:
        if profiler is not None:
            profiles = profiler.stop()
    bench.batches = {"bare": bare, "shape": shape, "minimal": minimal, "ours": ours}
    phases = await ticket_phases(ctx.client, ours.ids)
    minimal_phases = await ticket_phases(ctx.client, minimal.ids)
    vs_shape = ratio(ours.acknowledged.rate, shape.acknowledged.rate)
    ours_cpu, minimal_cpu = worker_cpu(ours), minimal.cpu_ms.get("yardstick")
    cpu_ratio = ratio(ours_cpu, minimal_cpu)
    result = {
        "bare_start": bare.summary(),
        "shape_anchor": shape.summary(),
        "minimal_anchor": minimal.summary(),
        "http_create": ours.extra[0].summary(),
        "acknowledged": ours.summary(),
        "ratio_vs_shape": rounded(vs_shape, 3),
        "ratio_vs_shape_goal_at_least": SHAPE_RATIO_GOAL,
        "ratio_vs_shape_verdict": verdict(vs_shape, at_least=SHAPE_RATIO_GOAL),
        "ratio_vs_bare": rounded(ratio(ours.acknowledged.rate, bare.acknowledged.rate), 3),
        "minimal_vs_shape": rounded(ratio(minimal.acknowledged.rate, shape.acknowledged.rate), 3),
        "worker_cpu_ms_per_ticket": rounded(ours_cpu),
        "minimal_worker_cpu_ms_per_ticket": rounded(minimal_cpu),
        "worker_cpu_vs_minimal": rounded(cpu_ratio, 3),
        "worker_cpu_vs_minimal_goal_at_most": CPU_RATIO_GOAL,
        "worker_cpu_vs_minimal_verdict": verdict(cpu_ratio, at_most=CPU_RATIO_GOAL),
        "idle_cpu_cores": {k: round(v, 4) for k, v in bench.meter.idle.items()},
        "phases_histories": phases.histories,
        "phases": phases.summary(),
        "minimal_phases": minimal_phases.summary(),
        "profiles": profiles,
    }
    series = [
        bare.acknowledged,
        shape.acknowledged,
        minimal.acknowledged,
        *ours.extra,
        ours.acknowledged,
    ]
    return series, result, bench
