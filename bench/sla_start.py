"""Starting the benchmark's tickets straight through the Temporal client, as the API does.

`start_ticket` does what `TicketService.create` does after its store transaction. A
*settled* idle ticket is one whose intake is long done: it has its row and its creation's
events in the store, and its workflow has nothing left to record or send; it only holds
its next timer. The bench writes those rows itself (`store.repository`, one transaction
per ticket, as `TicketService.create` does) before it starts each workflow with the state
carried in and nothing pending (`PlannedTicket.workflow_input(settled=True)`). So an idle
ticket costs the server one start and one workflow task: idle tickets are created as fast
as the server allows, and the worker spends nothing on them but that task.
"""

from __future__ import annotations

from collections.abc import Callable

from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeTaskQueueRequest,
    DescribeTaskQueueResponse,
)
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError

from bench.context import Context
from bench.load import BenchError, run_batch
from bench.sla_tickets import PlannedTicket
from bench.stats import Series
from runtime.settings import Settings
from store import repository
from store.engine import create_engine, create_sessionmaker
from store.rows import event_row, ticket_row
from workflows.ticket import TicketWorkflow

TICKET_QUEUE: str = Settings.model_fields["temporal_task_queue"].default


class SettledRows:
    """Writes settled tickets' rows into the store at `url` (the stack's own store)."""

    def __init__(self, url: str, connections: int) -> None:
        self._engine = create_engine(url, pool_size=connections)
        self._sessions = create_sessionmaker(self._engine)

    async def write(self, planned: PlannedTicket) -> None:
        async with self._sessions.begin() as session:
            await repository.upsert_ticket(session, values=ticket_row(planned.state))
            await repository.insert_events(
                session, events=[event_row(event) for event in planned.events]
            )

    async def close(self) -> None:
        await self._engine.dispose()


async def start_ticket(
    client: Client, planned: PlannedTicket, *, settled: SettledRows | None = None
) -> None:
    """What `TicketService.create` does after its store transaction; `settled` writes that
    transaction's rows first, and the ticket starts settled (`PlannedTicket.workflow_input`)."""
    if settled is not None:
        await settled.write(planned)
    try:
        await client.start_workflow(
            TicketWorkflow.run,
            planned.workflow_input(settled=settled is not None),
            id=planned.ticket_id,
            task_queue=TICKET_QUEUE,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=planned.search_attributes,
            static_summary=planned.summary,
        )
    except RPCError as err:
        raise BenchError(f"starting {planned.ticket_id}: {err}") from err


async def start_all(
    ctx: Context,
    name: str,
    count: int,
    concurrency: int,
    plan: Callable[[int], PlannedTicket],
    *,
    settled: bool = False,
) -> Series:
    rows = SettledRows(ctx.stack.store_url, concurrency) if settled else None

    async def start(index: int) -> None:
        await start_ticket(ctx.client, plan(index), settled=rows)

    try:
        return await run_batch(name, count, concurrency, start)
    finally:
        if rows is not None:
            await rows.close()


async def describe_workflow_queue(
    client: Client, task_queue: str = TICKET_QUEUE, *, stats: bool = False
) -> DescribeTaskQueueResponse:
    """The server's view of `task_queue`'s workflow tasks: its pollers, and with `stats` its
    approximate backlog."""
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        report_stats=stats,
    )
    return await client.workflow_service.describe_task_queue(request)


async def workflow_backlog(client: Client, task_queue: str = TICKET_QUEUE) -> int:
    """Workflow tasks waiting on `task_queue` (the server's approximate count). A settled
    ticket's row is in the store before its workflow has run: only once this backlog is
    empty has every started ticket taken its first task and armed its timer."""
    described = await describe_workflow_queue(client, task_queue, stats=True)
    return described.stats.approximate_backlog_count
