"""Looking at many tickets at once through Temporal: descriptions, histories, emails asked for."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowExecutionDescription, WorkflowExecutionStatus
from temporalio.service import RPCError

from faults.history import history, requested_message_ids
from faults.mail import SmtpSink, canonical_message_id
from faults.store import StoreReader

T = TypeVar("T")
CONCURRENCY = 16


async def for_each(
    ticket_ids: Iterable[str], call: Callable[[str], Awaitable[T]]
) -> dict[str, T | None]:
    """`call` on every ticket, 16 at a time; None where Temporal answered with an error."""
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(ticket_id: str) -> T | None:
        async with limit:
            try:
                return await call(ticket_id)
            except RPCError:
                return None

    ids = list(ticket_ids)
    results = await asyncio.gather(*(one(t) for t in ids))
    return dict(zip(ids, results, strict=True))


async def describe_all(
    client: Client, ticket_ids: Iterable[str]
) -> dict[str, WorkflowExecutionDescription | None]:
    return await for_each(ticket_ids, lambda t: client.get_workflow_handle(t).describe())


async def histories(client: Client, ticket_ids: Iterable[str]) -> dict[str, list[HistoryEvent]]:
    found = await for_each(ticket_ids, lambda t: history(client, t))
    return {t: events or [] for t, events in found.items()}


def pending_activities(descriptions: dict[str, WorkflowExecutionDescription | None]) -> int:
    return sum(len(d.raw_description.pending_activities) for d in descriptions.values() if d)


def not_running(descriptions: dict[str, WorkflowExecutionDescription | None]) -> list[str]:
    """Tickets whose workflow is missing or no longer running."""
    return [
        t
        for t, d in descriptions.items()
        if d is None or d.status != WorkflowExecutionStatus.RUNNING
    ]


async def expected_emails(
    client: Client, store: StoreReader, ticket_ids: Iterable[str]
) -> set[str]:
    """Message-IDs owed to these tickets (as on the wire): every email their workflows
    asked for (history), and every one the outbox knows about."""
    ids = set(ticket_ids)
    asked = await histories(client, ids)
    expected = set().union(*(requested_message_ids(events) for events in asked.values()))
    outbox = await store.read(store.outbox_message_ids)
    expected |= {m for m, ticket_id in outbox.items() if ticket_id in ids}
    return {canonical_message_id(m) for m in expected}


def missing_emails(sink: SmtpSink, expected: set[str]) -> set[str]:
    return expected - set(sink.per_message_id())
