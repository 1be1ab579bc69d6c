"""All SQL of major incidents: numbers, the projection of `IncidentWorkflow`, linked-ticket
counts, parent/child checks and the suggestions (clusters computed in SQL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from domain.incident.keywords import subject_keywords
from store import keyset
from store.incident_models import IncidentEventRow, IncidentNumber, IncidentRow, TicketKeyword
from store.models import Ticket

OPEN_TICKET_STATUSES = ("new", "open", "awaiting_customer", "on_hold")


def _insert(session: AsyncSession, table: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


async def allocate_incident_number(session: AsyncSession, *, at: datetime) -> int:
    result = await session.execute(
        insert(IncidentNumber).values(allocated_at=at).returning(IncidentNumber.id)
    )
    return int(result.scalar_one())


async def record_keywords(session: AsyncSession, *, ticket_id: str, subject: str) -> None:
    words = subject_keywords(subject)
    if not words:
        return
    stmt = _insert(session, TicketKeyword).values(
        [{"ticket_id": ticket_id, "keyword": word} for word in words]
    )
    await session.execute(stmt.on_conflict_do_nothing(index_elements=["ticket_id", "keyword"]))


# -- projection -------------------------------------------------------------------------


async def record_incident(
    session: AsyncSession, *, row: dict[str, Any], events: list[dict[str, Any]]
) -> None:
    """Upsert the row (a newer `last_seq` only) and insert the events (each once)."""
    stmt = _insert(session, IncidentRow).values(**row)
    changed = {k: stmt.excluded[k] for k in row if k != "id"}
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["id"],
            set_=changed,
            where=IncidentRow.last_seq < stmt.excluded.last_seq,
        )
    )
    if events:
        ins = _insert(session, IncidentEventRow).values(events)
        await session.execute(ins.on_conflict_do_nothing(index_elements=["incident_id", "seq"]))


# -- reading ----------------------------------------------------------------------------


async def get_incident(session: AsyncSession, *, incident_id: str) -> IncidentRow | None:
    return await session.get(IncidentRow, incident_id)


async def list_incidents(
    session: AsyncSession, *, status: list[str] | None, limit: int, cursor: str | None = None
) -> tuple[list[IncidentRow], str | None]:
    """Newest first, a page and the next page's cursor (InvalidCursor on a bad one)."""
    query = select(IncidentRow)
    if status:
        query = query.where(IncidentRow.status.in_(status))
    return await keyset.fetch_page(
        session,
        query,
        at=IncidentRow.created_at,
        key=IncidentRow.id,
        limit=limit,
        cursor=cursor,
        newest_first=True,
    )


async def list_incident_events(
    session: AsyncSession, *, incident_id: str
) -> list[IncidentEventRow]:
    query = (
        select(IncidentEventRow)
        .where(IncidentEventRow.incident_id == incident_id)
        .order_by(IncidentEventRow.seq)
    )
    return list((await session.execute(query)).scalars())


async def linked_counts(session: AsyncSession, *, incident_id: str) -> dict[str, int]:
    """The incident's linked tickets by status, as the store has them."""
    query = (
        select(Ticket.status, func.count())
        .where(Ticket.incident_id == incident_id)
        .group_by(Ticket.status)
    )
    return {status: int(n) for status, n in (await session.execute(query)).all()}


async def incident_metrics(session: AsyncSession) -> dict[str, int]:
    """Incidents by status and the tickets linked to one: for `/metrics`."""
    by_status = select(IncidentRow.status, func.count()).group_by(IncidentRow.status)
    counts = {f"incidents_{s}": int(n) for s, n in (await session.execute(by_status)).all()}
    linked = select(func.count()).select_from(Ticket).where(Ticket.incident_id.is_not(None))
    counts["linked_tickets"] = int((await session.execute(linked)).scalar_one())
    return counts


async def open_children(session: AsyncSession, *, ticket_id: str) -> list[str]:
    query = (
        select(Ticket.id)
        .where(Ticket.parent_id == ticket_id, Ticket.status.in_(OPEN_TICKET_STATUSES))
        .order_by(Ticket.id)
    )
    return list((await session.execute(query)).scalars())


async def set_parent_now(session: AsyncSession, *, ticket_id: str, parent_id: str) -> None:
    """The link is on the child's timeline already; the row learns it now (not at the
    projection's next recording) so the parent's resolve sees it at once."""
    await session.execute(update(Ticket).where(Ticket.id == ticket_id).values(parent_id=parent_id))


@dataclass(frozen=True)
class Suggestion:
    category: str
    keywords: list[str]
    ticket_ids: list[str]


async def suggestions(
    session: AsyncSession, *, since: datetime, min_tickets: int, limit: int = 20
) -> list[Suggestion]:
    """Clusters of open, unlinked tickets created since `since` that share a category and a
    subject keyword, at least `min_tickets` each. The grouping and the threshold are SQL;
    keywords that name the very same tickets are then folded into one cluster."""
    candidates = (
        select(Ticket.category, TicketKeyword.keyword)
        .join(TicketKeyword, TicketKeyword.ticket_id == Ticket.id)
        .where(
            Ticket.status.in_(OPEN_TICKET_STATUSES),
            Ticket.created_at >= since,
            Ticket.incident_id.is_(None),
        )
        .group_by(Ticket.category, TicketKeyword.keyword)
        .having(func.count() >= min_tickets)
        .subquery()
    )
    members = (
        select(candidates.c.category, candidates.c.keyword, Ticket.id)
        .join(TicketKeyword, TicketKeyword.keyword == candidates.c.keyword)
        .join(
            Ticket,
            (Ticket.id == TicketKeyword.ticket_id) & (Ticket.category == candidates.c.category),
        )
        .where(
            Ticket.status.in_(OPEN_TICKET_STATUSES),
            Ticket.created_at >= since,
            Ticket.incident_id.is_(None),
        )
        .order_by(candidates.c.category, candidates.c.keyword, Ticket.id)
    )
    groups: dict[tuple[str, str], list[str]] = {}
    for category, keyword, ticket_id in (await session.execute(members)).all():
        groups.setdefault((category, keyword), []).append(ticket_id)
    clusters: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for (category, keyword), ids in groups.items():
        clusters.setdefault((category, tuple(ids)), []).append(keyword)
    found = [
        Suggestion(category=category, keywords=sorted(words), ticket_ids=list(ids))
        for (category, ids), words in clusters.items()
    ]
    found.sort(key=lambda s: (-len(s.ticket_ids), s.category, s.keywords))
    return found[:limit]
