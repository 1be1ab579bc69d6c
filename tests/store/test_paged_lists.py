"""Approvals and incidents page by cursor like tickets: every row once, in order, across
pages, even when rows share a timestamp; a forged cursor is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.approvals.models import ApprovalStatus, ApprovalView
from domain.errors import InvalidCursor
from domain.policy.approvals import ApprovalKind
from store import approvals, incidents
from store.engine import SessionMaker

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _approval(n: int, at: datetime, role: str = "support_manager") -> ApprovalView:
    return ApprovalView(
        id=f"TKT-{n:06d}-R1",
        ticket_id=f"TKT-{n:06d}",
        kind=ApprovalKind.REFUND,
        amount=Decimal("49.00"),
        currency="USD",
        reason="Charged twice",
        status=ApprovalStatus.PENDING,
        approver_role=role,
        first_role=role,
        requested_by="agent:alice",
        requested_at=at,
    )


async def test_approvals_page_oldest_first_with_a_cursor(sessions: SessionMaker) -> None:
    # Seven approvals, three of them requested in the same second; one at another rung.
    times = [T0 + timedelta(minutes=m) for m in (0, 1, 1, 1, 2, 3, 4)]
    async with sessions.begin() as session:
        for n, at in reversed(list(enumerate(times, start=1))):
            await approvals.upsert_approval(session, view=_approval(n, at))
        await approvals.upsert_approval(session, view=_approval(99, T0, role="finance_director"))

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        async with sessions() as session:
            page, cursor = await approvals.list_approvals(
                session, status="pending", roles=["support_manager"], limit=3, cursor=cursor
            )
        seen += [a.id for a in page]
        pages += 1
        if cursor is None:
            break
    assert seen == [f"TKT-{n:06d}-R1" for n in range(1, 8)]
    assert pages == 3
    async with sessions() as session:
        everyone, last = await approvals.list_approvals(session, status=None, roles=None)
    assert (len(everyone), last) == (8, None)


async def test_incidents_page_newest_first_with_a_cursor(sessions: SessionMaker) -> None:
    async with sessions.begin() as session:
        for n in range(1, 6):
            at = T0 + timedelta(minutes=n // 2)  # pairs share a creation time
            status = "resolved" if n == 3 else "investigating"
            row = {"id": f"INC-{n:06d}", "title": "Checkout down", "severity": "P1",
                   "component": "checkout", "status": status, "commander": None,
                   "escalation_level": 0, "linked_count": 0, "updates_sent": 0,
                   "created_at": at, "updated_at": at, "last_seq": 1}  # fmt: skip
            await incidents.record_incident(session, row=row, events=[])

    seen: list[str] = []
    cursor: str | None = None
    while True:
        async with sessions() as session:
            page, cursor = await incidents.list_incidents(
                session, status=["investigating"], limit=2, cursor=cursor
            )
        seen += [i.id for i in page]
        if cursor is None:
            break
    assert seen == ["INC-000005", "INC-000004", "INC-000002", "INC-000001"]


async def test_a_forged_cursor_is_refused_by_every_list(sessions: SessionMaker) -> None:
    async with sessions() as session:
        with pytest.raises(InvalidCursor):
            await approvals.list_approvals(session, status=None, roles=None, cursor="x")
        with pytest.raises(InvalidCursor):
            await incidents.list_incidents(session, status=None, limit=5, cursor="x")
