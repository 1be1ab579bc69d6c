"""The intake anchors: the least a ticket's intake can cost on this server, in two sizes.

Both are `IntakeAnchorWorkflow`, our intake's shape: it is started with keyword search
attributes as the API starts a ticket; its first task schedules two activities side by
side, upserts one search attribute and starts a timer (the ticket's SLA timer, far off);
it then waits for both activities, and for the timer, which outlives the bench.
- The *shape* anchor's activities do nothing (`noop_record`, `noop_acknowledge`): what the
  shape alone costs the server and a worker.
- The *minimal* anchor's activities really do the work, written as plainly as possible
  (`bench.anchor_activities`): insert the ticket's row and its `created` event into the
  store, and send the acknowledgment over SMTP, whose Subject carries `[<id>]`.
Run by the bench's own worker process (`bench.yardstick`), never by ticketflow's.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

STATUS = SearchAttributeKey.for_keyword("TicketStatus")
PRIORITY = SearchAttributeKey.for_keyword("TicketPriority")
CHANNEL = SearchAttributeKey.for_keyword("TicketChannel")
PLAN = SearchAttributeKey.for_keyword("CustomerPlan")
SLA_TIMER = timedelta(hours=24)
SHAPE_ACTIVITIES = ("noop_record", "noop_acknowledge")
MINIMAL_ACTIVITIES = ("insert_ticket", "send_acknowledgment")


@dataclass(frozen=True)
class AnchorIntake:
    """What the anchor is started with: the create request's facts, and which anchor it is."""

    ticket_id: str
    requester_email: str
    requester_name: str
    plan: str
    subject: str
    description: str
    channel: str
    priority: str
    minimal: bool


@workflow.defn
class IntakeAnchorWorkflow:
    @workflow.run
    async def run(self, intake: AnchorIntake) -> None:
        names = MINIMAL_ACTIVITIES if intake.minimal else SHAPE_ACTIVITIES
        effects = [
            workflow.start_activity(
                name,
                intake,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=10)),
            )
            for name in names
        ]
        workflow.upsert_search_attributes([STATUS.value_set("new")])
        timer = asyncio.create_task(workflow.sleep(SLA_TIMER))
        await asyncio.gather(*effects)
        await timer
