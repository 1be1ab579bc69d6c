"""Starting the intake anchors (`bench.anchors`) as the API starts a ticket, and reading from
a history when their activities are done: the client side of the intake bench."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy

from bench import anchors
from bench.anchors import AnchorIntake, IntakeAnchorWorkflow
from bench.context import Context
from bench.load import ticket_body


def anchor_intake(ctx: Context, index: int, *, minimal: bool) -> AnchorIntake:
    body = ticket_body(index, f"{ctx.run_id}-anchor")
    kind = "M" if minimal else "S"
    return AnchorIntake(
        ticket_id=f"ANC-{ctx.run_id}-{kind}{index:06d}",
        requester_email=body["requester"]["email"],
        requester_name=body["requester"]["name"],
        plan=body["requester"]["plan"],
        subject=body["subject"],
        description=body["description"],
        channel=body["channel"],
        priority=body["priority"],
        minimal=minimal,
    )


async def start_anchor(client: Client, task_queue: str, intake: AnchorIntake) -> None:
    """As the API starts a ticket: its id, keyword search attributes and a static summary."""
    await client.start_workflow(
        IntakeAnchorWorkflow.run,
        intake,
        id=intake.ticket_id,
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(anchors.STATUS, "new"),
                SearchAttributePair(anchors.PRIORITY, intake.priority),
                SearchAttributePair(anchors.CHANNEL, intake.channel),
                SearchAttributePair(anchors.PLAN, intake.plan),
            ]
        ),
        static_summary=f"[{intake.priority}] {intake.subject}",
    )


async def activities_done_at(client: Client, workflow_id: str, activities: int) -> float | None:
    """When the last of the workflow's first `activities` activities completed (epoch
    seconds, from its history), or None if they have not all completed."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    done = [
        e.event_time.seconds + e.event_time.nanos / 1e9
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
    ]
    return max(done[:activities]) if len(done) >= activities else None
