"""The lifecycle timers, and what every timer's summary says it waits for.

Operators read the summary on the workflow's timeline: each names the step it waits for,
whichever concern (a clock, the unresolved ladder, a lifecycle timer) set it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.enums import EventType, Status
from domain.ticket.actions import AgentReply, RequestInfo, Resolve
from domain.ticket.aggregate import Ticket
from tests.domain.ticket.test_lifecycle import MONDAY_10, new_ticket, ticket_in, types


def timeline(ticket: Ticket, steps: int) -> list[tuple[datetime, str]]:
    """The next `steps` wakeups and their summaries, ticking through each."""
    seen = []
    for _ in range(steps):
        due = ticket.next_wakeup()
        if due is None:
            break
        seen.append((due, ticket.wakeup_summary(due)))
        ticket.tick(due)
    return seen


def test_an_unanswered_ticket_waits_for_its_clocks_and_the_unresolved_ladder() -> None:
    summaries = [summary for _, summary in timeline(new_ticket("P2"), 5)]
    assert summaries == [
        "first response at risk (80 %)",
        "first response due",
        "escalate to L2: unresolved 4h",
        "escalate to L3: unresolved 8h",
        "unresolved 12h (at L3 already)",
    ]


def test_waiting_on_the_customer_then_resolved_then_closed() -> None:
    ticket = new_ticket()
    ticket.request_info(RequestInfo(actor="alice", body="Which invoice?"), MONDAY_10)
    seen = timeline(ticket, 5)
    assert [summary for _, summary in seen] == [
        "reminder",
        "auto-resolve",
        "auto-close",
        "survey",
        "end of the survey window",
    ]
    assert seen[0][0] == MONDAY_10 + timedelta(days=2)  # the policy's 48 h reminder
    assert ticket.state.status == Status.CLOSED


def test_a_resolved_ticket_waits_for_auto_close_and_a_closed_one_for_its_end() -> None:
    ticket = new_ticket()
    ticket.reply(AgentReply(actor="alice", body="On it"), MONDAY_10)
    ticket.resolve(Resolve(actor="alice", resolution="Fixed"), MONDAY_10)
    seen = timeline(ticket, 3)
    assert [summary for _, summary in seen] == ["auto-close", "survey", "end of the survey window"]
    assert ticket.finished(seen[-1][0])
    assert ticket.wakeup_summary(None) == "waiting"


def test_awaiting_customer_reminds_then_auto_resolves_then_closes() -> None:
    ticket = ticket_in(Status.AWAITING_CUSTOMER)
    asked = MONDAY_10 + timedelta(minutes=5)
    spec = ticket.state.lifecycle
    reminder_at = asked + timedelta(seconds=spec.awaiting_customer_reminder_after)
    assert ticket.lifecycle_deadline() == reminder_at
    reminder = ticket.tick(reminder_at)
    assert EventType.REMINDER_SENT in types(reminder)
    assert [n.template for n in reminder.notifications] == ["awaiting_reminder"]
    resolve_at = reminder_at + timedelta(seconds=spec.auto_resolve_after_reminder)
    auto = ticket.tick(resolve_at)
    resolved = ticket.state
    assert (resolved.status, resolved.auto_resolved) == (Status.RESOLVED, True)
    assert [n.template for n in auto.notifications] == ["auto_close_notice"]
    close_at = resolve_at + timedelta(seconds=spec.auto_close_resolved_after)
    ticket.tick(close_at)
    closed = ticket.state
    assert (closed.status, closed.closed_at) == (Status.CLOSED, close_at)
    assert not ticket.finished(close_at)
    end = ticket.ends_at()
    assert end is not None
    assert ticket.finished(end)
