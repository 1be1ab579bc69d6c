"""The metrics summary on SQLite and PostgreSQL, against figures worked out by hand.

The window is [S, E) = [2026-11-01, 2026-11-08) UTC. Thirteen tickets: T1-T10 created
in it (T7 exactly at S), T11 created before it and resolved in it, T12 created exactly
at E (outside), T0 entirely before it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from store import reporting, repository
from store.engine import SessionMaker
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

S = datetime(2026, 11, 1, tzinfo=UTC)
E = S + timedelta(days=7)
W = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
C11 = datetime(2026, 10, 25, 9, 0, tzinfo=UTC)
C0 = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)
HOUR, DAY = 3600, 86400


def at(base: datetime, seconds: float) -> datetime:
    return base + timedelta(seconds=seconds)


def ticket(tid: str, created: datetime, status: str, priority: str, channel: str,
           category: str, team: str | None, **extra: Any) -> dict[str, Any]:  # fmt: skip
    row: dict[str, Any] = {
        "id": tid, "subject": "Invoice missing", "status": status, "priority": priority,
        "channel": channel, "category": category, "team": team, "assignee": None,
        "plan": "starter", "customer_id": None, "requester_email": "ana@example.com",
        "language": "en", "escalation_level": 0, "sla_breached": False,
        "next_sla_due_at": None, "sla_policy_id": "p", "sla_policy_version": "1",
        "created_at": created, "updated_at": created, "first_responded_at": None,
        "last_seq": 1, "description": "",
    }  # fmt: skip
    row.update(extra)
    return row


def resolved(first_assignee: str | None, by: str, when: datetime, **extra: Any) -> dict[str, Any]:
    return {"first_assignee": first_assignee, "resolved_by": by, "resolved_at": when, **extra}


TICKETS = [
    ticket("T1", W, "closed", "P2", "email", "billing", "frontline",
           first_responded_at=at(W, 600), **resolved("alice", "agent:alice", at(W, HOUR)),
           csat_requested_at=at(W, DAY), csat_answered_at=at(W, DAY + HOUR), csat_score=5),
    ticket("T2", at(W, HOUR), "resolved", "P1", "chat", "billing", "frontline",
           first_responded_at=at(W, HOUR + 120.5),
           **resolved("bob", "agent:carol", at(W, 3 * HOUR)), csat_requested_at=at(W, DAY)),
    ticket("T3", at(W, 2 * HOUR), "resolved", "P2", "email", "technical", "frontline",
           first_responded_at=at(W, 2 * HOUR + 1800), escalation_level=1,
           **resolved("alice", "agent:alice", at(W, 2 * HOUR + DAY)),
           csat_requested_at=at(W, 2 * DAY), csat_answered_at=at(W, 2 * DAY), csat_score=2),
    ticket("T4", at(W, 3 * HOUR), "resolved", "P1", "phone", "technical", "specialists",
           first_responded_at=at(W, 3 * HOUR + 300),
           **resolved("dave", "agent:dave", at(W, 7 * HOUR))),
    ticket("T5", at(W, 4 * HOUR), "resolved", "P3", "email", "account", "frontline",
           first_responded_at=at(W, 5 * HOUR), reopen_count=1,
           **resolved("alice", "agent:alice", at(W, 4 * HOUR + 2 * DAY)),
           csat_requested_at=at(W, 3 * DAY), csat_answered_at=E + timedelta(days=1),
           csat_score=4),
    ticket("T6", at(W, 5 * HOUR), "resolved", "P3", "portal", "account", "frontline",
           first_responded_at=at(W, 7 * HOUR),
           **resolved("erin", "system", at(W, 5 * HOUR + 3 * DAY), auto_resolved=True)),
    ticket("T7", S, "open", "P4", "email", "billing", "frontline", reopen_count=1,
           first_responded_at=at(S, 900.25), first_assignee="alice", assignee="alice"),
    ticket("T8", at(W, 7 * HOUR), "new", "P2", "chat", "billing", "frontline"),
    ticket("T9", at(W, 8 * HOUR), "awaiting_customer", "P1", "api", "technical", None,
           first_responded_at=at(W, 8 * HOUR + 60), escalation_level=1,
           first_assignee="frank", assignee="frank"),
    ticket("T10", at(W, 9 * HOUR), "on_hold", "P2", "email", "general", "specialists",
           first_responded_at=at(W, 9 * HOUR + 2400)),
    ticket("T11", C11, "closed", "P3", "email", "billing", "frontline",
           first_responded_at=at(C11, 600), **resolved("alice", "agent:alice", at(W, DAY)),
           csat_requested_at=at(W, 2 * DAY), csat_answered_at=at(W, 2 * DAY + HOUR),
           csat_score=3),
    ticket("T12", E, "new", "P3", "email", "billing", "frontline"),
    ticket("T0", C0, "closed", "P4", "email", "billing", "frontline",
           first_responded_at=at(C0, 60), **resolved("alice", "agent:alice", at(C0, 9 * DAY)),
           csat_requested_at=datetime(2026, 10, 30, tzinfo=UTC),
           csat_answered_at=at(S, 10 * HOUR), csat_score=1),
]  # fmt: skip

FR, NU, RES, CSAT_FU = "first_response", "next_update", "resolution", "csat_followup"
# (ticket, metric, cycle, event, at)
SLA = [
    ("T1", FR, 1, "met", at(W, 600)),
    ("T1", RES, 1, "met", at(W, HOUR)),
    ("T2", FR, 1, "met", at(W, HOUR + 120.5)),
    ("T2", RES, 1, "met", at(W, 3 * HOUR)),
    ("T3", FR, 1, "at_risk", at(W, 2 * HOUR + 1000)),
    ("T3", FR, 1, "breached", at(W, 2 * HOUR + 1200)),
    ("T3", FR, 1, "met", at(W, 2 * HOUR + 1800)),
    ("T3", NU, 1, "met", at(W, 3 * HOUR)),
    ("T3", NU, 2, "breached", at(W, 14 * HOUR)),
    ("T3", RES, 1, "met", at(W, 2 * HOUR + DAY)),
    ("T4", FR, 1, "met", at(W, 3 * HOUR + 300)),
    ("T4", NU, 1, "met", at(W, 4 * HOUR)),
    ("T4", RES, 1, "at_risk", at(W, 5 * HOUR)),
    ("T4", RES, 1, "breached", at(W, 6 * HOUR)),
    ("T4", RES, 1, "met", at(W, 7 * HOUR)),
    ("T5", FR, 1, "met", at(W, 5 * HOUR)),
    ("T5", RES, 1, "met", at(W, 6 * HOUR)),
    ("T5", RES, 2, "breached", at(W, 4 * HOUR + 100_000)),
    ("T5", RES, 2, "met", at(W, 4 * HOUR + 2 * DAY)),
    ("T6", FR, 1, "met", at(W, 7 * HOUR)),
    ("T6", RES, 1, "met", at(W, 5 * HOUR + 3 * DAY)),
    ("T7", FR, 1, "met", at(S, 900.25)),
    ("T7", NU, 1, "met", at(S, 5000)),
    ("T8", FR, 1, "at_risk", at(W, 7 * HOUR + 5000)),
    ("T9", FR, 1, "met", at(W, 8 * HOUR + 60)),
    ("T9", NU, 1, "breached", at(W, 10 * HOUR)),
    ("T10", FR, 1, "at_risk", at(W, 9 * HOUR + 1000)),
    ("T10", FR, 1, "met", at(W, 9 * HOUR + 2400)),
    ("T10", NU, 1, "met", E),
    ("T11", FR, 1, "met", at(C11, 600)),
    ("T11", NU, 1, "met", S),
    ("T11", RES, 1, "breached", datetime(2026, 10, 28, 9, tzinfo=UTC)),
    ("T11", RES, 1, "met", at(W, DAY)),
    ("T0", FR, 1, "met", at(C0, 60)),
    ("T0", RES, 1, "met", at(C0, 9 * DAY)),
]
# (ticket, at, direction): T10's lone "down" is not a real history; it shows direction counts.
ESCALATIONS = [
    ("T3", at(W, 2 * HOUR + 600), "up"),
    ("T4", at(W, 3 * HOUR + 600), "up"),
    ("T4", at(W, 3 * HOUR + 900), "down"),
    ("T9", at(W, 8 * HOUR + 600), "up"),
    ("T10", at(W, 9 * HOUR + 600), "down"),
]


async def load(sessions: SessionMaker) -> None:
    seq: dict[str, int] = {}

    def next_seq(tid: str) -> int:
        seq[tid] = seq.get(tid, 1) + 1  # seq 1 is the ticket's `created`
        return seq[tid]

    events = [
        {"ticket_id": tid, "seq": next_seq(tid), "type": "escalated", "at": when,
         "actor": "agent:x", "data": {"direction": direction, "reason": "hard"}}
        for tid, when, direction in ESCALATIONS
    ]  # fmt: skip
    sla_rows = [
        {"ticket_id": tid, "seq": next_seq(tid), "metric": metric, "cycle": cycle,
         "event": event, "at": when, "priority": "P2"}
        for tid, metric, cycle, event, when in SLA
    ]  # fmt: skip
    async with sessions.begin() as session:
        for row in TICKETS:
            await repository.upsert_ticket(session, values=row)
        await repository.insert_events(session, events=events)
        await repository.insert_sla_events(session, rows=sla_rows)


async def summarise(sessions: SessionMaker, **kwargs: Any) -> Summary:
    window = {"start": S, "end": E, **kwargs}
    async with sessions() as session:
        return await reporting.summary(session, **window)


async def test_every_figure_over_the_window(sessions: SessionMaker) -> None:
    await load(sessions)
    got = await summarise(sessions)

    # Created in [S, E): T1-T10 (T7 at S counts; T12 at E does not).
    assert got.volume.created == 10
    assert got.volume.by_channel == {"email": 5, "chat": 2, "phone": 1, "portal": 1, "api": 1}
    assert got.volume.by_category == {"account": 2, "billing": 4, "general": 1, "technical": 3}

    # Seconds to first response of T1-T10 but T8 (never answered), ascending:
    # 60 (T9), 120.5 (T2), 300 (T4), 600 (T1), 900.25 (T7), 1800 (T3), 2400 (T10),
    # 3600 (T5), 7200 (T6). n = 9: median rank ceil(4.5) = 5, p90 rank ceil(8.1) = 9.
    # Finished cycle-1 clocks: all but T8 (only at risk) = 9; T3 breached: 8/9 = 88.9 %.
    assert got.first_response == FirstResponse(9, 900.25, 7200.0, 88.9)

    # Resolved in [S, E): T1-T6 and T11 (T0 before). Seconds created -> resolved:
    # 3600, 7200, 14400 (T4), 86400 (T3), 172800 (T5), 259200 (T6), 777600 (T11, 9 days).
    # n = 7: median rank 4 -> 86400; p90 rank ceil(6.3) = 7 -> 777600.
    # Resolution clocks: cycle 1 of T1-T6, T11 = 7, breached T4, T11 -> 5/7 = 71.4 %;
    # all cycles adds T5 cycle 2 (breached) -> 5/8 = 62.5 %.
    assert got.resolution == Resolution(
        7, 86400.0, 777600.0, WithinSla(first_cycle=71.4, all_cycles=62.5)
    )

    # Clocks whose outcome (first breach, else first met) falls in [S, E):
    # first_response: T1 T2 T3(b) T4 T5 T6 T7 T9 T10 -> 9, 1 breached, 8/9 = 88.9.
    # next_update: T3c1 T3c2(b) T4 T7 T9(b) T11 (met at S) -> 6, 2 breached, 66.7;
    #   T10's met at E is outside.
    # resolution: T1 T2 T3 T4(b) T5c1 T5c2(b) T6 -> 7, 2 breached, 71.4; T11 breached
    #   on 2026-10-28, before the window, so its met inside does not count it here.
    assert got.sla_compliance == {
        "first_response": Compliance(9, 1, 88.9),
        "next_update": Compliance(6, 2, 66.7),
        CSAT_FU: Compliance(0, 0, None),
        "resolution": Compliance(7, 2, 71.4),
    }

    # Of the 7 resolved: T1 and T11 by their first assignee, never escalated, not reopened,
    # not automatic. T2 other agent, T3 level 1, T4 escalated (back at 0), T5 reopened,
    # T6 auto-resolved by the system. 2/7 = 28.6 %.
    assert got.first_contact_resolution == Rate(2, 7, 28.6)
    # Of the 10 created: up escalations on T3, T4, T9 (T10's is down only). 3/10.
    assert got.escalation_rate == Rate(3, 10, 30.0)
    # Of the 7 resolved, T5 was reopened (T7 was too but is open now). 1/7 = 14.3 %.
    assert got.reopen_rate == Rate(1, 7, 14.3)

    # Answered in [S, E): T1 5, T3 2, T11 3, T0 1 (asked before S) -> 4, mean 2.75.
    # Asked in [S, E): T1 T2 T3 T5 T11 = 5; answered (any time, T5 after E) 4 -> 80 %.
    assert got.csat == Csat(2.75, 4, 5, 4, 80.0)

    # Open now, whatever the window: T7 open, T8 new, T9 awaiting, T10 on hold, T12 new.
    assert got.backlog == Backlog(
        open=5,
        by_status={"new": 2, "open": 1, "awaiting_customer": 1, "on_hold": 1},
        by_priority={"P1": 1, "P2": 2, "P3": 1, "P4": 1},
        by_team={"(none)": 1, "frontline": 3, "specialists": 1},
    )


async def test_team_filter_applies_to_every_figure(sessions: SessionMaker) -> None:
    await load(sessions)
    got = await summarise(sessions, team="specialists")  # T4 and T10

    assert (got.volume.created, got.volume.by_channel["phone"]) == (2, 1)
    # 300 (T4), 2400 (T10): median rank 1, p90 rank ceil(1.8) = 2; both clocks met.
    assert got.first_response == FirstResponse(2, 300.0, 2400.0, 100.0)
    assert got.resolution == Resolution(1, 14400.0, 14400.0, WithinSla(0.0, 0.0))
    assert got.sla_compliance == {
        "first_response": Compliance(2, 0, 100.0),
        "next_update": Compliance(1, 0, 100.0),  # T4; T10's met is at E
        CSAT_FU: Compliance(0, 0, None),
        "resolution": Compliance(1, 1, 0.0),
    }
    assert got.first_contact_resolution == Rate(0, 1, 0.0)
    assert got.escalation_rate == Rate(1, 2, 50.0)
    assert got.reopen_rate == Rate(0, 1, 0.0)
    assert got.csat == Csat(None, 0, 0, 0, None)
    assert (got.backlog.open, got.backlog.by_status["on_hold"]) == (1, 1)
    assert got.backlog.by_team == {"specialists": 1}


async def test_priority_and_channel_filters(sessions: SessionMaker) -> None:
    await load(sessions)
    p1 = await summarise(sessions, priority="P1")  # T2, T4, T9
    chat = await summarise(sessions, channel="chat")  # T2, T8

    assert p1.volume.created == 3
    # 60 (T9), 120.5 (T2), 300 (T4): median rank 2, p90 rank 3.
    assert p1.first_response == FirstResponse(3, 120.5, 300.0, 100.0)
    assert p1.escalation_rate == Rate(2, 3, 66.7)
    assert p1.backlog.by_priority == {"P1": 1, "P2": 0, "P3": 0, "P4": 0}
    assert p1.backlog.by_team == {"(none)": 1}

    assert chat.volume.by_channel == {"email": 0, "chat": 2, "phone": 0, "portal": 0, "api": 0}
    # T8 is unanswered and its clock only at risk: one duration, one finished clock.
    assert chat.first_response == FirstResponse(1, 120.5, 120.5, 100.0)
    assert chat.first_contact_resolution == Rate(0, 1, 0.0)
    assert chat.csat == Csat(None, 0, 1, 0, 0.0)
    assert chat.backlog.by_status == {"new": 1, "open": 0, "awaiting_customer": 0, "on_hold": 0}


async def test_an_empty_window_has_zeros_and_nulls(sessions: SessionMaker) -> None:
    await load(sessions)
    later = datetime(2030, 1, 1, tzinfo=UTC)
    got = await summarise(sessions, start=later, end=later + timedelta(days=30))

    assert got.volume == Volume(0, {"email": 0, "chat": 0, "phone": 0, "portal": 0, "api": 0}, {})
    assert got.first_response == FirstResponse(0, None, None, None)
    assert got.resolution == Resolution(0, None, None, WithinSla(None, None))
    assert got.sla_compliance == {m: Compliance(0, 0, None) for m in (FR, NU, RES, CSAT_FU)}
    assert got.first_contact_resolution == got.reopen_rate == Rate(0, 0, None)
    assert got.escalation_rate == Rate(0, 0, None)
    assert got.csat == Csat(None, 0, 0, 0, None)
    assert got.backlog.open == 5  # the backlog ignores the window


async def test_an_empty_store(sessions: SessionMaker) -> None:
    got = await summarise(sessions)
    assert got.backlog == Backlog(
        0,
        {"new": 0, "open": 0, "awaiting_customer": 0, "on_hold": 0},
        {"P1": 0, "P2": 0, "P3": 0, "P4": 0},
        {},
    )
    assert got.first_response.count == got.volume.created == 0


async def test_bounds_in_any_zone_mean_the_same_instant(sessions: SessionMaker) -> None:
    await load(sessions)
    cet = timezone(timedelta(hours=1))
    got = await summarise(sessions, start=S.astimezone(cet), end=E.astimezone(cet))
    assert got.volume.created == 10
    with pytest.raises(ValueError, match="timezone-aware"):
        await summarise(sessions, start=S.replace(tzinfo=None))


def test_percentages_round_to_one_decimal() -> None:
    # Percentiles are computed in SQL now: tests/store/test_durations.py.
    assert percent(2, 3) == 66.7
    assert percent(0, 0) is None
