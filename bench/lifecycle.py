"""The standard lifecycle's cost in history: create -> reply -> resolve -> close over HTTP.

Each step is taken once the ticket has *settled*, as a person would act: no activity
pending and no workflow task scheduled or running (`DescribeWorkflowExecution`), so every
effect of the step before (store, emails, dispatch) is done. Then the ticket's whole
history is read (`bench.history_cost`): events, server tasks, decoded payload bytes.
Twice: with a one-line description, and with a 60 KiB one carrying a unique marker, which
tells how many times the description was copied into history. The CPU each process spent
on a lifecycle (`bench.cpu`, idle rates taken off) is read around each; one ticket is a
small sample (the kernel counts CPU in 10 ms ticks): read it as an estimate.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client

from bench.context import Context
from bench.cpu import CpuMeter
from bench.history_cost import history_cost
from bench.load import BenchError
from bench.stats import verdict

ONE_LINE = "The invoice page shows an error since this morning."
LARGE_BYTES = 60 * 1024
SETTLE_TIMEOUT_SECONDS = 120.0
EVENTS_GOAL = 40  # at most, one-line description
PAYLOAD_GOAL = 12_000  # bytes, at most, one-line description
STEPS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("reply", {"body": "Fixed on our side: please try the download again."}),
    ("resolve", {"resolution": "The invoice service was restarted."}),
    ("close", {}),
)


def large_description(marker: str, size: int = LARGE_BYTES) -> str:
    """`size` ASCII characters that start with `marker` and read like text."""
    line = "The export fails on every page of the invoice list; steps and logs follow. "
    body = marker + " " + line * (size // len(line) + 1)
    return body[:size]


async def settle(client: Client, workflow_id: str, limit: float = SETTLE_TIMEOUT_SECONDS) -> None:
    """Until the workflow has no pending activity and no pending workflow task."""
    request = DescribeWorkflowExecutionRequest(
        namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
    )
    deadline = time.monotonic() + limit
    while True:
        described = await client.workflow_service.describe_workflow_execution(request)
        if not described.pending_activities and not described.HasField("pending_workflow_task"):
            return
        if time.monotonic() > deadline:
            raise BenchError(f"{workflow_id} did not settle within {limit:.0f} s")
        await asyncio.sleep(0.1)


async def one_lifecycle(
    ctx: Context, meter: CpuMeter, name: str, description: str, marker: str
) -> dict[str, Any]:
    """One ticket through the steps; every lifecycle ticket has the same plan and priority."""
    begin = meter.read()
    ticket_id = await ctx.api.create_ticket(0, f"{ctx.run_id}-{name}", description)
    await settle(ctx.client, ticket_id)
    for action, body in STEPS:
        await ctx.api.act(ticket_id, action, body)
        await settle(ctx.client, ticket_id)
    end = await meter.quiet(["worker", "temporal"])
    history = await ctx.client.get_workflow_handle(ticket_id).fetch_history()
    codec = ctx.client.data_converter.payload_codec
    cost = await history_cost(history.events, codec, marker.encode())
    cpu = meter.per_ticket_ms(meter.span(begin, end), 1)
    return {
        "ticket_id": ticket_id,
        "description_bytes": len(description.encode()),
        "cpu_ms": {name: cpu[name] for name in ("worker", "temporal", "api") if name in cpu},
    } | cost.summary()


async def run_lifecycle(ctx: Context) -> dict[str, Any]:
    marker = f"MARK-{ctx.run_id}-60KIB"
    meter = CpuMeter(ctx.stack.pids())
    await meter.quiet(meter.pids)
    await meter.idle_rates()
    one_line = await one_lifecycle(ctx, meter, "oneline", ONE_LINE, marker)
    large = await one_lifecycle(ctx, meter, "large", large_description(marker), marker)
    return {
        "steps": ["create", *(action for action, _ in STEPS)],
        "one_line": one_line,
        "large": large,
        "events_goal_at_most": EVENTS_GOAL,
        "events_verdict": verdict(one_line["history_events"], at_most=EVENTS_GOAL),
        "payload_goal_at_most": PAYLOAD_GOAL,
        "payload_verdict": verdict(one_line["payload_bytes"], at_most=PAYLOAD_GOAL),
        "large_copies_verdict": verdict(large["marker_copies"], at_most=1),
    }


def lifecycle_headline(result: dict[str, Any]) -> list[str]:
    one, large = result["one_line"], result["large"]
    kib = large["description_bytes"] // 1024
    return [
        f"history events per lifecycle: {one['history_events']}  (create, reply, resolve, "
        f"close; one-line description; goal <= {result['events_goal_at_most']}: "
        f"{result['events_verdict']})",
        f"history events per lifecycle, {kib} KiB description: {large['history_events']}",
        f"server tasks per lifecycle: {one['server_tasks']}  ({one['workflow_tasks']} workflow "
        f"+ {one['activity_tasks']} activity tasks)",
        f"server tasks per lifecycle, {kib} KiB description: {large['server_tasks']}",
        "cpu ms per lifecycle (one ticket, an estimate): "
        + ", ".join(f"{name} {ms:.0f}" for name, ms in one.get("cpu_ms", {}).items()),
        f"payload bytes per lifecycle: {one['payload_bytes']}  ({one['payloads']} payloads, "
        f"decoded; goal <= {result['payload_goal_at_most']}: {result['payload_verdict']})",
        f"payload bytes per lifecycle, {kib} KiB description: {large['payload_bytes']}  (the "
        f"description appears {large['marker_copies']} times; goal: once: "
        f"{result['large_copies_verdict']})",
    ]


def lifecycle_rows(result: dict[str, Any], top: int = 5) -> list[tuple[str, ...]]:
    """Where the payload bytes are, per event type, for both descriptions."""
    one, large = (
        result["one_line"]["payload_bytes_by_event"],
        result["large"]["payload_bytes_by_event"],
    )
    names = sorted(set(one) | set(large), key=lambda n: (-large.get(n, 0), -one.get(n, 0), n))
    return [(name, str(one.get(name, 0)), str(large.get(name, 0))) for name in names[:top]]


LIFECYCLE_HEADER = ("payload bytes by event (lifecycle)", "one line", "60 KiB")
