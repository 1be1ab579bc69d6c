"""The workflow loop waits for `next_wakeup()`: it must never be a past instant nothing consumes.

Hypothesis drives the pure ticket through random actions and time jumps with a simulated
clock, as the workflow would (tick at every wakeup and after every action), and checks after
every tick that the next wakeup is None or strictly later than now, unless the ticket is done.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import DomainError
from domain.ticket.actions import (
    AgentNote,
    AgentReply,
    Assign,
    ChangePriority,
    Close,
    CustomerReply,
    Escalate,
    Hold,
    Rate,
    Reopen,
    RequestInfo,
    Resolve,
)
from domain.ticket.aggregate import Ticket
from domain.ticket.change import Effects
from tests.domain.ticket.test_lifecycle import MONDAY_10
from tests.workflows.harness import DEFAULT_POLICY, request, started

Step = Callable[[Ticket, datetime], Effects]


def _priority(priority: str) -> Step:
    sla = DEFAULT_POLICY.select_sla(
        priority=priority, plan="starter", category="general", channel="email",
        created_year=2026,
    )  # fmt: skip
    change = ChangePriority(actor="bob", priority=priority, reason="re-triaged", sla=sla)
    return lambda t, at: t.change_priority(change, at)


ACTIONS: dict[str, Step] = {
    "reply": lambda t, at: t.reply(AgentReply(actor="bob", body="Update"), at),
    "note": lambda t, at: t.note(AgentNote(actor="bob", body="internal"), at),
    "request_info": lambda t, at: t.request_info(RequestInfo(actor="bob", body="?"), at),
    "assign_agent": lambda t, at: t.assign(
        Assign(actor="bob", agent_id="kevin", team="frontline"), at
    ),
    "assign_team": lambda t, at: t.assign(Assign(actor="bob", team="billing"), at),
    "priority_p1": _priority("P1"),
    "priority_p4": _priority("P4"),
    "escalate": lambda t, at: t.escalate(Escalate(actor="bob", reason="stuck"), at),
    "de_escalate": lambda t, at: t.escalate(Escalate(actor="bob", reason="ok", level=0), at),
    "hold": lambda t, at: t.hold(Hold(actor="bob", reason="bank"), at),
    "resolve": lambda t, at: t.resolve(Resolve(actor="bob", resolution="Fixed"), at),
    "reopen": lambda t, at: t.reopen(Reopen(actor="bob", reason="not fixed"), at),
    "close": lambda t, at: t.close(Close(actor="bob"), at),
    "customer_reply": lambda t, at: t.customer_reply(CustomerReply(body="still broken"), at),
    "customer_asks_manager": lambda t, at: t.customer_reply(
        CustomerReply(body="I want a manager"), at
    ),
}


def _rate(score: int) -> Step:
    return lambda t, at: t.rate(Rate(score=score), at)


ACTIONS |= {f"rate_{score}": _rate(score) for score in range(1, 6)}

# A step is an action, a jump to the next wakeup (a timer firing), or a jump by some seconds
# (an action arriving at any time, or a worker that was down for days).
steps = st.lists(
    st.one_of(
        st.sampled_from(sorted(ACTIONS)),
        st.just("wakeup"),
        st.sampled_from([60, 3600, 86400, 7 * 86400]),
        st.integers(min_value=1, max_value=30 * 86400),
    ),
    max_size=40,
)


def _check(ticket: Ticket, now: datetime) -> None:
    ticket.tick(now)
    wakeup = ticket.next_wakeup()
    assert ticket.finished(now) or wakeup is None or wakeup > now, (
        f"next wakeup {wakeup} is not after now {now}; status {ticket.state.status}, "
        f"clocks {ticket.state.clocks}"
    )


@settings(max_examples=500, deadline=None)
@given(priority=st.sampled_from(["P1", "P2", "P3", "P4"]), plan=steps)
def test_next_wakeup_is_never_in_the_past(priority: str, plan: list[str | int]) -> None:
    ticket, _ = Ticket.create(started("TKT-000001", MONDAY_10, request(priority=priority)))
    now = MONDAY_10
    _check(ticket, now)
    for step in plan:
        if step == "wakeup":
            wakeup = ticket.next_wakeup()
            if wakeup is None:
                continue
            now = max(now, wakeup)
        elif isinstance(step, int):
            now += timedelta(seconds=step)
        else:
            try:
                ACTIONS[step](ticket, now)
            except DomainError:
                continue  # refused, as the Update validator would refuse it
        _check(ticket, now)


def test_a_low_score_nobody_follows_up_does_not_spin_past_the_end() -> None:
    """The reliability issue's case: rated 1 after close, the follow-up never made."""
    ticket, _ = Ticket.create(started("TKT-000001", MONDAY_10, request(priority="P2")))
    at = MONDAY_10 + timedelta(minutes=5)
    ticket.resolve(Resolve(actor="bob", resolution="Fixed"), at)
    ticket.close(Close(actor="bob"), at)
    ticket.rate(Rate(score=1), at)
    end = ticket.ends_at()
    assert end is not None
    _check(ticket, end + timedelta(days=1))
    assert not ticket.finished(end + timedelta(days=1))  # the follow-up is still owed
    ticket.reply(AgentReply(actor="judy", body="Sorry, let us make it right"), end)
    _check(ticket, end + timedelta(days=1))
    assert ticket.finished(end + timedelta(days=1))
