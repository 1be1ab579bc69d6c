"""All SQL of the store. Callers own the transaction (`async with session.begin()`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from store import keyset
from store.incidents import record_keywords
from store.models import (
    Assignment,
    IdempotencyKey,
    OutboxEntry,
    SlaEventRow,
    Ticket,
    TicketEventRow,
    TicketNumber,
    WebhookDelivery,
)


def dialect_insert(session: AsyncSession, table: Any) -> Any:
    """The dialect's INSERT that supports ON CONFLICT and RETURNING (PostgreSQL and SQLite
    share the syntax)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"the store supports PostgreSQL and SQLite, not {dialect}")


# -- intake ------------------------------------------------------------------


async def allocate_ticket_number(session: AsyncSession, *, at: datetime) -> int:
    """A number no other caller (in any process) will get: the database allocates it."""
    result = await session.execute(
        insert(TicketNumber).values(allocated_at=at).returning(TicketNumber.id)
    )
    return int(result.scalar_one())


@dataclass(frozen=True)
class IdempotencyClaim:
    ticket_id: str
    request_hash: str
    created: bool
    """True when this call stored the key; False when it already existed."""


async def find_idempotency_key(session: AsyncSession, *, key: str) -> IdempotencyClaim | None:
    row = await session.get(IdempotencyKey, key)
    if row is None:
        return None
    return IdempotencyClaim(ticket_id=row.ticket_id, request_hash=row.request_hash, created=False)


async def claim_idempotency_key(
    session: AsyncSession, *, key: str, request_hash: str, ticket_id: str, at: datetime
) -> IdempotencyClaim:
    """Store `key → ticket_id` unless the key exists; either way return what the key maps to."""
    stmt = (
        dialect_insert(session, IdempotencyKey)
        .values(key=key, request_hash=request_hash, ticket_id=ticket_id, created_at=at)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(IdempotencyKey.key)
    )
    if (await session.execute(stmt)).first() is not None:
        return IdempotencyClaim(ticket_id=ticket_id, request_hash=request_hash, created=True)
    row = (
        await session.execute(select(IdempotencyKey).where(IdempotencyKey.key == key))
    ).scalar_one()
    return IdempotencyClaim(ticket_id=row.ticket_id, request_hash=row.request_hash, created=False)


# -- projection ----------------------------------------------------------------


async def upsert_ticket(session: AsyncSession, *, values: dict[str, Any]) -> None:
    """Insert the ticket row, or replace it if `values` carries a newer `last_seq`."""
    stmt = dialect_insert(session, Ticket).values(**values)
    changed = {k: stmt.excluded[k] for k in values if k != "id"}
    stmt = stmt.on_conflict_do_update(
        index_elements=["id"], set_=changed, where=Ticket.last_seq < stmt.excluded.last_seq
    )
    await session.execute(stmt)
    if "subject" in values:  # the row's facts: its subject's keywords go in with them
        await record_keywords(session, ticket_id=values["id"], subject=values["subject"])


async def delete_unstarted_ticket(session: AsyncSession, *, ticket_id: str) -> None:
    """Remove the row (and `created` event) intake wrote for a workflow that never started;
    a row any workflow recorded more into is left alone."""
    deleted = await session.execute(
        delete(Ticket).where(Ticket.id == ticket_id, Ticket.last_seq <= 1).returning(Ticket.id)
    )
    if deleted.first() is not None:
        await session.execute(delete(TicketEventRow).where(TicketEventRow.ticket_id == ticket_id))
        held = WebhookDelivery.ticket_id == ticket_id, WebhookDelivery.attempts == 0
        await session.execute(delete(WebhookDelivery).where(*held))


async def update_ticket(session: AsyncSession, *, ticket_id: str, changes: dict[str, Any]) -> None:
    """Apply the changed columns of a newer snapshot (`changes["last_seq"]`); an older or
    equal one (a retried or overtaken recording) changes nothing."""
    await session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id, Ticket.last_seq < changes["last_seq"])
        .values(**changes)
    )


async def insert_events(session: AsyncSession, *, events: list[dict[str, Any]]) -> None:
    """Insert timeline events; an event already stored (same ticket and seq) is left alone."""
    if not events:
        return
    stmt = dialect_insert(session, TicketEventRow).values(events)
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["ticket_id", "seq"]))


async def insert_sla_events(session: AsyncSession, *, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    stmt = dialect_insert(session, SlaEventRow).values(rows)
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["ticket_id", "seq"]))


# -- reading -----------------------------------------------------------------------


async def get_ticket(session: AsyncSession, *, ticket_id: str) -> Ticket | None:
    return await session.get(Ticket, ticket_id)


async def list_events(session: AsyncSession, *, ticket_id: str) -> list[TicketEventRow]:
    stmt = (
        select(TicketEventRow)
        .where(TicketEventRow.ticket_id == ticket_id)
        .order_by(TicketEventRow.seq)
    )
    return list((await session.execute(stmt)).scalars())


@dataclass(frozen=True)
class TicketFilter:
    status: list[str] | None = None
    priority: list[str] | None = None
    team: str | None = None
    assignee: str | None = None
    breached: bool | None = None


async def list_tickets(
    session: AsyncSession, *, where: TicketFilter, limit: int, cursor: str | None = None
) -> tuple[list[Ticket], str | None]:
    """Newest first, stable under inserts: keyset pagination on (created_at, id)."""
    stmt = select(Ticket)
    if where.status:
        stmt = stmt.where(Ticket.status.in_(where.status))
    if where.priority:
        stmt = stmt.where(Ticket.priority.in_(where.priority))
    if where.team is not None:
        stmt = stmt.where(Ticket.team == where.team)
    if where.assignee is not None:
        stmt = stmt.where(Ticket.assignee == where.assignee)
    if where.breached is not None:
        stmt = stmt.where(Ticket.sla_breached.is_(where.breached))
    return await keyset.fetch_page(
        session,
        stmt,
        at=Ticket.created_at,
        key=Ticket.id,
        limit=limit,
        cursor=cursor,
        newest_first=True,
    )


OPEN_STATUSES = ("new", "open", "awaiting_customer", "on_hold")


async def agent_loads(session: AsyncSession, *, agent_ids: list[str]) -> dict[str, tuple[int, int]]:
    """(open tickets now, tickets ever routed) per agent."""
    opened = await session.execute(
        select(Ticket.assignee, func.count())
        .where(Ticket.assignee.in_(agent_ids), Ticket.status.in_(OPEN_STATUSES))
        .group_by(Ticket.assignee)
    )
    routed = await session.execute(
        select(Assignment.agent_id, func.count())
        .where(Assignment.agent_id.in_(agent_ids))
        .group_by(Assignment.agent_id)
    )
    open_counts = {str(agent): int(count) for agent, count in opened.all()}
    routed_counts = {str(agent): int(count) for agent, count in routed.all()}
    return {a: (open_counts.get(a, 0), routed_counts.get(a, 0)) for a in agent_ids}


async def record_assignment(
    session: AsyncSession, *, ticket_id: str, agent_id: str, team: str, at: datetime
) -> None:
    stmt = (
        dialect_insert(session, Assignment)
        .values(ticket_id=ticket_id, agent_id=agent_id, team=team, assigned_at=at)
        .on_conflict_do_nothing(index_elements=["ticket_id"])
    )
    await session.execute(stmt)


async def oldest_queued_ticket(session: AsyncSession, *, team: str) -> Ticket | None:
    """The team's oldest open ticket nobody is assigned to: next in line when capacity frees.
    A ticket whose workflow is gone is in no queue."""
    stmt = (
        select(Ticket)
        .where(
            Ticket.team == team,
            Ticket.assignee.is_(None),
            Ticket.status.in_(OPEN_STATUSES),
            Ticket.workflow_gone_at.is_(None),
        )
        .order_by(Ticket.created_at, Ticket.id)
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def mark_workflow_gone(session: AsyncSession, *, ticket_id: str, at: datetime) -> None:
    """Take a ticket whose workflow no longer exists out of every queue (and forget a
    dispatch that was recorded for it but never reached it)."""
    await session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id, Ticket.workflow_gone_at.is_(None))
        .values(workflow_gone_at=at)
    )
    await session.execute(delete(Assignment).where(Assignment.ticket_id == ticket_id))


# -- outbox --------------------------------------------------------------------


async def list_notifications(session: AsyncSession, *, ticket_id: str) -> list[OutboxEntry]:
    stmt = (
        select(OutboxEntry)
        .where(OutboxEntry.ticket_id == ticket_id)
        .order_by(OutboxEntry.created_at, OutboxEntry.key)
    )
    return list((await session.scalars(stmt)).all())
