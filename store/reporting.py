"""The support metrics over a time window, computed on the store (definitions: docs/metrics.md).

Invariants: a window is half-open, `start <= t < end`, compared in UTC (SQLite keeps
timestamps as naive UTC text, so bounds are converted to UTC before binding). Filters
match the ticket's current team, priority and channel, as the ticket list does. Every
figure is computed by the database, counts and rates as aggregates, durations and their
nearest-rank percentiles in `store.durations`; both backends agree exactly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Subquery, and_, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from domain.enums import Metric
from domain.policy.vocabulary import Vocabulary
from store.durations import durations
from store.models import SlaEventRow, Ticket, TicketEventRow
from store.report_figures import (
    Backlog,
    Compliance,
    Csat,
    FirstResponse,
    Rate,
    Resolution,
    Summary,
    Volume,
    WithinSla,
    percent,
)
from store.repository import OPEN_STATUSES

NO_TEAM = "(none)"
"""The `by_team` key of open tickets without a team (assigned straight to an agent)."""
FINISHED = ("met", "breached")


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("window bounds must be timezone-aware")
    return at.astimezone(UTC)


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def _one_row(session: AsyncSession, stmt: Select[Any]) -> list[int]:
    """The integers of an aggregate query's single row."""
    return [int(value) for value in (await session.execute(stmt)).one()]


@dataclass(frozen=True)
class _Scope:
    start: datetime
    end: datetime
    filters: tuple[ColumnElement[bool], ...]

    def within(self, column: Any) -> ColumnElement[bool]:
        return and_(column >= self.start, column < self.end)


def _clocks(ticket_ids: Any, metric: Metric | None = None) -> Subquery:
    """One row per finished SLA clock (ticket, metric, cycle) with its first breach and met.

    A clock is breached if it ever has a `breached` event; met within SLA if it has
    `met` and no `breached`. Clocks with only `at_risk` (still running) have no row.
    """
    events = select(
        SlaEventRow.ticket_id,
        SlaEventRow.metric,
        SlaEventRow.cycle,
        func.min(case((SlaEventRow.event == "breached", SlaEventRow.at))).label("breached_at"),
        func.min(case((SlaEventRow.event == "met", SlaEventRow.at))).label("met_at"),
    ).where(SlaEventRow.event.in_(FINISHED), SlaEventRow.ticket_id.in_(ticket_ids))
    if metric is not None:
        events = events.where(SlaEventRow.metric == metric.value)
    keys = (SlaEventRow.ticket_id, SlaEventRow.metric, SlaEventRow.cycle)
    return events.group_by(*keys).subquery("clocks")


def _escalated(*, up_only: bool) -> ColumnElement[bool]:
    """The ticket has an `escalated` event (raising the level, if `up_only`)."""
    event = select(TicketEventRow.seq).where(
        TicketEventRow.ticket_id == Ticket.id, TicketEventRow.type == "escalated"
    )
    if up_only:
        event = event.where(TicketEventRow.data["direction"].as_string() == "up")
    return event.exists()


_DEFAULT = Vocabulary()


async def _created(
    session: AsyncSession, scope: _Scope, channels: Sequence[str]
) -> tuple[Volume, Rate]:
    """(volume, escalation rate) over the tickets created in the window."""
    rows = await session.execute(
        select(Ticket.channel, Ticket.category, func.count(), _count_if(_escalated(up_only=True)))
        .where(scope.within(Ticket.created_at), *scope.filters)
        .group_by(Ticket.channel, Ticket.category)
    )
    by_channel, by_category = Counter(dict.fromkeys(channels, 0)), Counter[str]()
    escalated = 0
    for channel, category, count, escalated_here in rows:
        by_channel[channel] += count
        by_category[category] += count
        escalated += int(escalated_here)
    total = by_channel.total()
    volume = Volume(total, dict(by_channel), dict(sorted(by_category.items())))
    return volume, Rate(escalated, total, percent(escalated, total))


async def _first_response(session: AsyncSession, scope: _Scope) -> FirstResponse:
    created = (scope.within(Ticket.created_at), *scope.filters)
    taken = await durations(session, Ticket.created_at, Ticket.first_responded_at, *created)
    clocks = _clocks(select(Ticket.id).where(*created), Metric.FIRST_RESPONSE)
    finished, within = await _one_row(
        session,
        select(func.count(), _count_if(clocks.c.breached_at.is_(None)))
        .select_from(clocks)
        .where(clocks.c.cycle == 1),
    )
    return FirstResponse(
        taken.count, taken.median_seconds, taken.p90_seconds, percent(within, finished)
    )


async def _resolution(session: AsyncSession, scope: _Scope) -> Resolution:
    resolved = (scope.within(Ticket.resolved_at), *scope.filters)
    taken = await durations(session, Ticket.created_at, Ticket.resolved_at, *resolved)
    clocks = _clocks(select(Ticket.id).where(*resolved), Metric.RESOLUTION)
    ok, first = clocks.c.breached_at.is_(None), clocks.c.cycle == 1
    finished, within, first_finished, first_within = await _one_row(
        session,
        select(
            func.count(), _count_if(ok), _count_if(first), _count_if(and_(first, ok))
        ).select_from(clocks),
    )
    within_sla = WithinSla(percent(first_within, first_finished), percent(within, finished))
    return Resolution(taken.count, taken.median_seconds, taken.p90_seconds, within_sla)


async def _sla_compliance(session: AsyncSession, scope: _Scope) -> dict[str, Compliance]:
    # Only tickets with a met or breached event in the window can have a clock finish in it.
    finishing = aliased(SlaEventRow)
    ticket_ids = (
        select(finishing.ticket_id)
        .join(Ticket, Ticket.id == finishing.ticket_id)
        .where(finishing.event.in_(FINISHED), scope.within(finishing.at), *scope.filters)
    )
    clocks = _clocks(ticket_ids)
    finished_at = func.coalesce(clocks.c.breached_at, clocks.c.met_at)
    rows = await session.execute(
        select(clocks.c.metric, func.count(), _count_if(clocks.c.breached_at.is_not(None)))
        .where(scope.within(finished_at))
        .group_by(clocks.c.metric)
    )
    counts = {metric: (int(n), int(breached)) for metric, n, breached in rows}
    return {
        metric.value: Compliance(finished, breached, percent(finished - breached, finished))
        for metric in Metric
        for finished, breached in [counts.get(metric.value, (0, 0))]
    }


async def _resolved_rates(session: AsyncSession, scope: _Scope) -> tuple[Rate, Rate]:
    """(first contact resolution, reopen rate) over the tickets resolved in the window."""
    first_contact = and_(
        Ticket.resolved_by == literal("agent:") + Ticket.first_assignee,
        Ticket.escalation_level == 0,
        ~_escalated(up_only=False),
        Ticket.reopen_count == 0,
        Ticket.auto_resolved.is_(False),
    )
    total, fcr, reopened = await _one_row(
        session,
        select(func.count(), _count_if(first_contact), _count_if(Ticket.reopen_count > 0)).where(
            scope.within(Ticket.resolved_at), *scope.filters
        ),
    )
    return Rate(fcr, total, percent(fcr, total)), Rate(reopened, total, percent(reopened, total))


async def _csat(session: AsyncSession, scope: _Scope) -> Csat:
    answered = and_(Ticket.csat_score.is_not(None), scope.within(Ticket.csat_answered_at))
    requested = scope.within(Ticket.csat_requested_at)
    count, score_sum, asked, responded = await _one_row(
        session,
        select(
            _count_if(answered),
            func.coalesce(func.sum(case((answered, Ticket.csat_score), else_=0)), 0),
            _count_if(requested),
            _count_if(and_(requested, Ticket.csat_score.is_not(None))),
        ).where(or_(answered, requested), *scope.filters),
    )
    average = round(score_sum / count, 2) if count else None
    return Csat(average, count, asked, responded, percent(responded, asked))


async def _backlog(session: AsyncSession, scope: _Scope, priorities: Sequence[str]) -> Backlog:
    rows = await session.execute(
        select(Ticket.status, Ticket.priority, Ticket.team, func.count())
        .where(Ticket.status.in_(OPEN_STATUSES), *scope.filters)
        .group_by(Ticket.status, Ticket.priority, Ticket.team)
    )
    by_status = Counter(dict.fromkeys(OPEN_STATUSES, 0))
    by_priority, by_team = Counter(dict.fromkeys(priorities, 0)), Counter[str]()
    for status, priority, team, count in rows:
        by_status[status] += count
        by_priority[priority] += count
        by_team[team or NO_TEAM] += count
    teams = dict(sorted(by_team.items()))
    return Backlog(by_status.total(), dict(by_status), dict(by_priority), teams)


async def summary(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    team: str | None = None,
    priority: str | None = None,
    channel: str | None = None,
    priorities: Sequence[str] = _DEFAULT.priority_ids,
    channels: Sequence[str] = _DEFAULT.channel_ids,
) -> Summary:
    """Every metric over `[start, end)`; the backlog is as of now. Bounds must be aware.
    `priorities` and `channels` (the policy's) are listed with zeros when nothing counts."""
    wanted = ((Ticket.team, team), (Ticket.priority, priority), (Ticket.channel, channel))
    filters = tuple(column == value for column, value in wanted if value is not None)
    scope = _Scope(_utc(start), _utc(end), filters)
    volume, escalation = await _created(session, scope, channels)
    first_contact, reopen = await _resolved_rates(session, scope)
    return Summary(
        volume=volume,
        first_response=await _first_response(session, scope),
        resolution=await _resolution(session, scope),
        sla_compliance=await _sla_compliance(session, scope),
        first_contact_resolution=first_contact,
        escalation_rate=escalation,
        reopen_rate=reopen,
        csat=await _csat(session, scope),
        backlog=await _backlog(session, scope, priorities),
    )
