"""The lifecycle timers, and what every timer's summary says it waits for.

Operators read the summary on the workflow's timeline: each names the step it waits for,
whichever concern (a clock, the unresolved ladder, a lifecycle timer) set it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.enums import Status
from domain.ticket.actions import AgentReply, RequestInfo, Resolve
from domain.ticket.aggregate import Ticket
from tests.domain.ticket.test_lifecycle import MONDAY_10, new_ticket


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
