"""The repository on SQLite and, where TEST_DATABASE_URL is set, on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from store import repository
from store.engine import SessionMaker
from store.repository import TicketFilter

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _row(ticket_id: str, *, seq: int = 1, created: datetime = T0, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": ticket_id,
        "subject": "Printer on fire",
        "status": "new",
        "priority": "P2",
        "channel": "email",
        "category": "general",
        "team": "frontline",
        "assignee": None,
        "plan": "starter",
        "customer_id": None,
        "requester_email": "ana@example.com",
        "language": "en",
        "escalation_level": 0,
        "sla_breached": False,
        "next_sla_due_at": None,
        "sla_policy_id": "p2",
        "sla_policy_version": "1",
        "created_at": created,
        "updated_at": created,
        "first_responded_at": None,
        "last_seq": seq,
        "description": f"snapshot {seq}",
    }
    row.update(extra)
    return row


async def test_ticket_numbers_are_unique_under_concurrency(sessions: SessionMaker) -> None:
    async def allocate() -> int:
        async with sessions.begin() as session:
            return await repository.allocate_ticket_number(session, at=T0)

    numbers = await asyncio.gather(*(allocate() for _ in range(40)))
    assert len(set(numbers)) == 40
    assert min(numbers) >= 1


async def test_idempotency_key_maps_to_the_first_ticket(sessions: SessionMaker) -> None:
    async with sessions.begin() as session:
        first = await repository.claim_idempotency_key(
            session, key="k1", request_hash="h1", ticket_id="TKT-000001", at=T0
        )
    async with sessions.begin() as session:
        again = await repository.claim_idempotency_key(
            session, key="k1", request_hash="h2", ticket_id="TKT-000002", at=T0
        )
        found = await repository.find_idempotency_key(session, key="k1")
        missing = await repository.find_idempotency_key(session, key="nope")
    assert first.created
    assert first.ticket_id == "TKT-000001"
    assert not again.created
    assert (again.ticket_id, again.request_hash) == ("TKT-000001", "h1")
    assert found is not None
    assert found.ticket_id == "TKT-000001"
    assert missing is None


async def test_upsert_never_moves_a_ticket_backwards(sessions: SessionMaker) -> None:
    async with sessions.begin() as session:
        await repository.upsert_ticket(session, values=_row("TKT-1", seq=3, status="open"))
    async with sessions.begin() as session:
        await repository.upsert_ticket(session, values=_row("TKT-1", seq=2, status="new"))
    async with sessions() as session:
        ticket = await repository.get_ticket(session, ticket_id="TKT-1")
        assert ticket is not None
        assert (ticket.status, ticket.last_seq) == ("open", 3)
    async with sessions.begin() as session:
        await repository.upsert_ticket(session, values=_row("TKT-1", seq=4, status="resolved"))
    async with sessions() as session:
        ticket = await repository.get_ticket(session, ticket_id="TKT-1")
        assert ticket is not None
        assert (ticket.status, ticket.last_seq) == ("resolved", 4)


async def test_inserting_an_event_twice_keeps_the_first(sessions: SessionMaker) -> None:
    event = {"ticket_id": "TKT-1", "seq": 1, "type": "created", "at": T0, "actor": "customer"}
    async with sessions.begin() as session:
        await repository.upsert_ticket(session, values=_row("TKT-1"))
        await repository.insert_events(session, events=[{**event, "data": {"n": 1}}])
    async with sessions.begin() as session:
        await repository.insert_events(
            session,
            events=[
                {**event, "data": {"n": 2}},
                {**event, "seq": 2, "type": "agent_reply", "data": {}},
            ],
        )
    async with sessions() as session:
        events = await repository.list_events(session, ticket_id="TKT-1")
    assert [(e.seq, e.type, e.data) for e in events] == [
        (1, "created", {"n": 1}),
        (2, "agent_reply", {}),
    ]


async def test_list_filters_and_paginates_stably(sessions: SessionMaker) -> None:
    async with sessions.begin() as session:
        for i in range(7):
            await repository.upsert_ticket(
                session,
                values=_row(
                    f"TKT-{i:06d}",
                    created=T0 + timedelta(minutes=i // 2),  # ties on created_at
                    priority="P1" if i % 2 else "P3",
                    sla_breached=i == 3,
                ),
            )
    seen: list[str] = []
    cursor = None
    async with sessions() as session:
        while True:
            page, cursor = await repository.list_tickets(
                session, where=TicketFilter(), limit=3, cursor=cursor
            )
            seen += [t.id for t in page]
            if cursor is None:
                break
        p1, _ = await repository.list_tickets(
            session, where=TicketFilter(priority=["P1"]), limit=50
        )
        breached, _ = await repository.list_tickets(
            session, where=TicketFilter(breached=True), limit=50
        )
    assert seen == [f"TKT-{i:06d}" for i in reversed(range(7))]
    assert [t.id for t in p1] == ["TKT-000005", "TKT-000003", "TKT-000001"]
    assert [t.id for t in breached] == ["TKT-000003"]
