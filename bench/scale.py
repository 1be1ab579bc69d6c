"""What more worker processes do against the one dev server (`--worker-processes N`).

After the intake batches, `ticketflow worker --processes N-1` is started beside the stack's
own worker, on the same task queue, Temporal server, store and SMTP sink; once the server
lists N pollers on the ticket queue, our intake batch runs again, and the extra processes
are stopped. Same run, same server: its rate and CPU compare with the one-process batch and
with the shape anchor measured before it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from temporalio.client import Client

from bench.context import Context
from bench.intake import Batch, IntakeBench, worker_cpu
from bench.load import BenchError
from bench.sla_start import TICKET_QUEUE, describe_workflow_queue
from bench.stats import Series, ratio, rounded

POLLER_TIMEOUT_SECONDS = 120.0


async def pollers(client: Client, task_queue: str) -> set[str]:
    """Identities of the workers polling `task_queue` for workflow tasks (the server keeps
    a poller listed for a few minutes after its last poll)."""
    described = await describe_workflow_queue(client, task_queue)
    return {poller.identity for poller in described.pollers}


async def wait_for_pollers(client: Client, task_queue: str, more: int, before: set[str]) -> None:
    deadline = time.monotonic() + POLLER_TIMEOUT_SECONDS
    while len(await pollers(client, task_queue) - before) < more:
        if time.monotonic() > deadline:
            raise BenchError(f"{more} more worker process(es) never polled {task_queue}")
        await asyncio.sleep(0.5)


async def run_scale(
    ctx: Context, bench: IntakeBench, processes: int, one: Batch, shape: Batch
) -> tuple[list[Series], dict[str, Any]]:
    before = await pollers(ctx.client, TICKET_QUEUE)
    ctx.stack.start_workers(processes - 1)
    try:
        await wait_for_pollers(ctx.client, TICKET_QUEUE, processes - 1, before)
        bench.meter.pids = ctx.stack.pids()
        await bench.meter.quiet(bench.meter.pids)
        await bench.meter.idle_rates()
        workers = ("worker", *(f"worker+{i}" for i in range(1, processes)))
        workers = tuple(w for w in workers if w in bench.meter.pids)
        label = f" ({processes} worker processes)"
        more = await bench.ours(label=label, workers=workers)
    finally:
        ctx.stack.stop_workers()
        bench.meter.pids = ctx.stack.pids()
    cpu_one, cpu_more = worker_cpu(one), worker_cpu(more, workers)
    result = {
        "processes": processes,
        "http_create": more.extra[0].summary(),
        "acknowledged": more.summary(),
        "rate_vs_one_process": rounded(ratio(more.acknowledged.rate, one.acknowledged.rate), 3),
        "ratio_vs_shape": rounded(ratio(more.acknowledged.rate, shape.acknowledged.rate), 3),
        "worker_cpu_ms_per_ticket": rounded(cpu_more),
        "worker_cpu_vs_one_process": rounded(ratio(cpu_more, cpu_one), 3),
        "server_cpu_ms_per_ticket": more.cpu_ms.get("temporal"),
    }
    return [*more.extra, more.acknowledged], result


def scale_headline(result: dict[str, Any], one_rate: float | None) -> list[str]:
    n = result["processes"]
    rate = result["acknowledged"]["rate_per_s"]
    return [
        f"{n} worker processes: {rate} tickets acknowledged/s, "
        f"{result['rate_vs_one_process']} x one process ({one_rate}/s); "
        f"intake ratio vs shape {result['ratio_vs_shape']}; worker cpu ms per ticket "
        f"{result['worker_cpu_ms_per_ticket']} (x{result['worker_cpu_vs_one_process']}), "
        f"server {result['server_cpu_ms_per_ticket']}",
    ]
