"""The store's counts behind the Prometheus metrics, read at scrape time (docs/metrics.md).

Invariants: two aggregate statements, one over `tickets` and one over `sla_events`, each
returning a row per group, so a scrape costs the same with any number of API replicas and
workers. Every combination of the known label values is present (zeros included), so a
series exists from the first scrape and never disappears. Labels are the ticket's current
`priority` and `channel` (a breach keeps the priority it had when it happened).

The resolution count is monotonic under every transition the workflow makes: a reopen
clears `resolved_at` and increments `reopen_count` in the same snapshot, and only a
resolved ticket can be reopened, so `resolved_at is set` + `reopen_count` counts every
resolution the ticket has had, without reading its timeline.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import product

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.enums import Metric
from domain.policy.vocabulary import Vocabulary
from store.models import SlaEventRow, Ticket
from store.repository import OPEN_STATUSES

LabelPair = tuple[str, str]


@dataclass(frozen=True)
class TicketCounts:
    created: dict[LabelPair, int]
    """Tickets ever created, by (priority, channel)."""
    resolved: dict[LabelPair, int]
    """Resolutions ever made (a reopened ticket resolved again counts twice), by (priority,
    channel)."""
    sla_breaches: dict[LabelPair, int]
    """SLA clocks that breached (one per clock cycle), by (metric, priority)."""
    open: dict[LabelPair, int]
    """Open tickets now (the backlog), by (status, priority)."""


def _zeros(first: Iterable[str], second: Iterable[str]) -> Counter[LabelPair]:
    return Counter(dict.fromkeys(product(first, second), 0))


_DEFAULT = Vocabulary()


async def ticket_counts(
    session: AsyncSession,
    *,
    priorities: Sequence[str] = _DEFAULT.priority_ids,
    channels: Sequence[str] = _DEFAULT.channel_ids,
) -> TicketCounts:
    """The counters and the backlog, as of now; every combination of the policy's
    `priorities` and `channels` is listed, with zeros where nothing counts."""
    created, resolved = _zeros(priorities, channels), _zeros(priorities, channels)
    open_now = _zeros(OPEN_STATUSES, priorities)
    resolutions = func.coalesce(
        func.sum(case((Ticket.resolved_at.is_not(None), 1), else_=0) + Ticket.reopen_count), 0
    )
    tickets = await session.execute(
        select(Ticket.status, Ticket.priority, Ticket.channel, func.count(), resolutions).group_by(
            Ticket.status, Ticket.priority, Ticket.channel
        )
    )
    for status, priority, channel, count, resolved_here in tickets:
        created[priority, channel] += int(count)
        resolved[priority, channel] += int(resolved_here)
        if status in OPEN_STATUSES:
            open_now[status, priority] += int(count)

    breaches = _zeros([m.value for m in Metric], priorities)
    rows = await session.execute(
        select(SlaEventRow.metric, SlaEventRow.priority, func.count())
        .where(SlaEventRow.event == "breached")
        .group_by(SlaEventRow.metric, SlaEventRow.priority)
    )
    for metric, priority, count in rows:
        breaches[metric, priority] += int(count)
    return TicketCounts(dict(created), dict(resolved), dict(breaches), dict(open_now))
