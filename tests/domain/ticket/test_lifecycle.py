"""The status machine and its clocks, as pure functions (no Temporal needed)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from domain.enums import ClockState, EventType, Metric, Status
from domain.errors import FollowUpRequired, InvalidTransition
from domain.ticket.actions import (
    Action,
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
from domain.ticket.links import ParentLink
from tests.workflows.harness import DEFAULT_POLICY, request, started

# Monday 2026-11-23 10:00 UTC: inside business hours (Mon-Fri 09-18 UTC).
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
H = timedelta(hours=1)


def new_ticket(priority: str = "P2", at: datetime = MONDAY_10) -> Ticket:
    ticket, _ = Ticket.create(started("TKT-000001", at, request(priority=priority)))
    return ticket


def types(effects: Effects) -> list[EventType]:
    return [e.type for e in effects.events]


# How to bring a fresh ticket into each status, with agent actions only.
TO_STATUS: dict[Status, list[Callable[[Ticket, datetime], Effects]]] = {
    Status.NEW: [],
    Status.OPEN: [lambda t, at: t.reply(AgentReply(actor="alice", body="On it"), at)],
    Status.AWAITING_CUSTOMER: [
        lambda t, at: t.request_info(RequestInfo(actor="alice", body="Which invoice?"), at)
    ],
    Status.ON_HOLD: [lambda t, at: t.hold(Hold(actor="alice", reason="bank"), at)],
    Status.RESOLVED: [lambda t, at: t.resolve(Resolve(actor="alice", resolution="Fixed"), at)],
    Status.CLOSED: [
        lambda t, at: t.resolve(Resolve(actor="alice", resolution="Fixed"), at),
        lambda t, at: t.close(Close(actor="alice"), at),
    ],
}


def ticket_in(status: Status) -> Ticket:
    ticket = new_ticket()
    for step in TO_STATUS[status]:
        step(ticket, MONDAY_10 + timedelta(minutes=5))
    assert ticket.state.status == status
    return ticket


ACTIONS: dict[Action, Callable[[Ticket, datetime], Effects]] = {
    Action.REPLY: lambda t, at: t.reply(AgentReply(actor="bob", body="Update"), at),
    Action.NOTE: lambda t, at: t.note(AgentNote(actor="bob", body="internal"), at),
    Action.REQUEST_INFO: lambda t, at: t.request_info(RequestInfo(actor="bob", body="?"), at),
    Action.ASSIGN: lambda t, at: t.assign(
        Assign(actor="bob", agent_id="carol", team="billing"), at
    ),
    Action.PRIORITY: lambda t, at: t.change_priority(
        ChangePriority(
            actor="bob",
            priority="P1",
            reason="outage",
            sla=DEFAULT_POLICY.select_sla(
                priority="P1",
                plan="starter",
                category="billing",
                channel="email",
                created_year=2026,
            ),
        ),
        at,
    ),
    Action.ESCALATE: lambda t, at: t.escalate(Escalate(actor="bob", reason="complex"), at),
    Action.HOLD: lambda t, at: t.hold(Hold(actor="bob", reason="vendor"), at),
    Action.RESOLVE: lambda t, at: t.resolve(Resolve(actor="bob", resolution="done"), at),
    Action.REOPEN: lambda t, at: t.reopen(Reopen(actor="bob", reason="not fixed"), at),
    Action.CLOSE: lambda t, at: t.close(Close(actor="bob"), at),
    Action.CUSTOMER_REPLY: lambda t, at: t.customer_reply(CustomerReply(body="more info"), at),
    Action.CSAT: lambda t, at: t.rate(Rate(score=4), at),
    Action.LINK: lambda t, at: t.link_parent(ParentLink(actor="bob", parent_id="TKT-9"), at),
}

# The status machine, written out by hand: action -> statuses it is allowed from.
ACTIVE = {Status.NEW, Status.OPEN, Status.AWAITING_CUSTOMER, Status.ON_HOLD}
EXPECTED_ALLOWED = {
    Action.REPLY: ACTIVE | {Status.RESOLVED},
    Action.NOTE: ACTIVE | {Status.RESOLVED},
    Action.REQUEST_INFO: ACTIVE,
    Action.ASSIGN: ACTIVE,
    Action.PRIORITY: ACTIVE,
    Action.ESCALATE: ACTIVE,
    Action.HOLD: {Status.NEW, Status.OPEN, Status.AWAITING_CUSTOMER},
    Action.RESOLVE: ACTIVE,
    Action.REOPEN: {Status.RESOLVED},
    Action.CLOSE: {Status.RESOLVED},
    Action.CUSTOMER_REPLY: ACTIVE | {Status.RESOLVED},
    Action.CSAT: {Status.RESOLVED, Status.CLOSED},
    Action.LINK: ACTIVE | {Status.RESOLVED},
}
# Where an allowed action leaves the ticket.
EXPECTED_STATUS_AFTER = {
    (Action.REPLY, Status.NEW): Status.OPEN,
    (Action.ASSIGN, Status.NEW): Status.OPEN,
    (Action.REQUEST_INFO, None): Status.AWAITING_CUSTOMER,
    (Action.HOLD, None): Status.ON_HOLD,
    (Action.RESOLVE, None): Status.RESOLVED,
    (Action.REOPEN, None): Status.OPEN,
    (Action.CLOSE, None): Status.CLOSED,
    (Action.CUSTOMER_REPLY, Status.AWAITING_CUSTOMER): Status.OPEN,
    (Action.CUSTOMER_REPLY, Status.RESOLVED): Status.OPEN,
}


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("status", list(Status))
def test_every_action_from_every_status(action: Action, status: Status) -> None:
    ticket = ticket_in(status)
    at = MONDAY_10 + H
    before = ticket.state
    if status in EXPECTED_ALLOWED[action]:
        effects = ACTIONS[action](ticket, at)
        assert effects.events, "an allowed action is recorded"
        expected = EXPECTED_STATUS_AFTER.get(
            (action, status), EXPECTED_STATUS_AFTER.get((action, None), status)
        )
        assert ticket.state.status == expected
        seqs = [e.seq for e in effects.events]
        assert seqs == list(range(before.last_seq + 1, before.last_seq + 1 + len(seqs)))
    else:
        with pytest.raises(InvalidTransition) as caught:
            ACTIONS[action](ticket, at)
        assert f"is {status.value}" in caught.value.message
        if not isinstance(caught.value, FollowUpRequired):
            assert "allowed when the ticket is" in caught.value.message
        assert ticket.state == before, "a refused action changes nothing"


def test_customer_reply_to_closed_ticket_asks_for_a_follow_up() -> None:
    ticket = ticket_in(Status.CLOSED)
    with pytest.raises(FollowUpRequired):
        ticket.customer_reply(CustomerReply(body="again"), MONDAY_10 + H)


def test_customer_reply_after_the_reopen_window_asks_for_a_follow_up() -> None:
    ticket = ticket_in(Status.RESOLVED)
    window = timedelta(seconds=ticket.state.lifecycle.reopen_window)
    with pytest.raises(FollowUpRequired):
        ticket.validate_customer_reply(MONDAY_10 + timedelta(minutes=5) + window + H)


def test_notes_are_never_emailed_nor_responses() -> None:
    ticket = new_ticket()
    effects = ticket.note(AgentNote(actor="alice", body="checking logs"), MONDAY_10 + H)
    assert effects.notifications == []
    assert ticket.state.clocks[Metric.FIRST_RESPONSE].state == ClockState.RUNNING
    assert ticket.state.first_responded_at is None


def test_first_public_reply_meets_first_response_and_starts_next_update_cycles() -> None:
    ticket = new_ticket()
    first = ticket.reply(AgentReply(actor="alice", body="a"), MONDAY_10 + H)
    assert ticket.state.clocks[Metric.FIRST_RESPONSE].state == ClockState.MET
    assert EventType.SLA_MET in types(first)
    update = ticket.state.clocks[Metric.NEXT_UPDATE]
    assert (update.cycle, update.started_at, update.state) == (1, MONDAY_10 + H, ClockState.RUNNING)
    # P2 owes an update every 4 business hours.
    assert update.due_at == MONDAY_10 + 5 * H
    ticket.reply(AgentReply(actor="alice", body="b"), MONDAY_10 + 2 * H)
    update = ticket.state.clocks[Metric.NEXT_UPDATE]
    assert (update.cycle, update.due_at) == (2, MONDAY_10 + 6 * H)
    assert [c.cycle for c in ticket.state.clock_history if c.metric == Metric.NEXT_UPDATE] == [1]
    assert ticket.state.clock_history[-1].met_at == MONDAY_10 + 2 * H


def test_waiting_on_the_customer_pauses_resolution_and_moves_its_due_time() -> None:
    ticket = new_ticket()
    due_before = ticket.state.clocks[Metric.RESOLUTION].due_at
    ticket.request_info(RequestInfo(actor="alice", body="which?"), MONDAY_10 + H)
    resolution = ticket.state.clocks[Metric.RESOLUTION]
    assert resolution.paused_since == MONDAY_10 + H
    assert resolution.due_at is None
    # First response is not paused by waiting (it was met by the request anyway).
    assert ticket.state.clocks[Metric.FIRST_RESPONSE].state == ClockState.MET
    ticket.customer_reply(CustomerReply(body="this one"), MONDAY_10 + 4 * H)
    resolution = ticket.state.clocks[Metric.RESOLUTION]
    assert resolution.paused_since is None
    # 24 business hours from Monday 10:00 is Wednesday 16:00; three paused business hours
    # push it past Wednesday's 18:00 close to Thursday 10:00.
    assert due_before == datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
    assert resolution.due_at == datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    assert ticket.state.status == Status.OPEN


def test_priority_change_re_applies_the_policy_and_records_old_and_new_due_times() -> None:
    ticket = new_ticket("P3")
    old_due = ticket.state.clocks[Metric.FIRST_RESPONSE].due_at
    ACTIONS[Action.PRIORITY](ticket, MONDAY_10 + H)
    state = ticket.state
    assert state.priority == "P1"
    assert state.sla.policy_id == "p1"
    # P1: 30 minutes on the 24x7 calendar, from the ticket's creation.
    assert state.clocks[Metric.FIRST_RESPONSE].due_at == MONDAY_10 + timedelta(minutes=30)
    assert old_due == MONDAY_10 + 8 * H  # P3: 8 business hours, Monday 10:00 -> 18:00


def test_priority_change_event_data() -> None:
    ticket = new_ticket("P3")
    effects = ACTIONS[Action.PRIORITY](ticket, MONDAY_10 + H)
    [event] = [e for e in effects.events if e.type == EventType.PRIORITY_CHANGED]
    assert (event.data["from"], event.data["to"], event.data["reason"]) == ("P3", "P1", "outage")
    assert event.data["due_before"]["first_response"] == "2026-11-23T18:00:00+00:00"
    assert event.data["due_after"]["first_response"] == "2026-11-23T10:30:00+00:00"
    assert event.data["sla_policy"] == {"from": "p3", "to": "p1"}


def test_tick_emits_at_risk_then_breach_exactly_once() -> None:
    ticket = new_ticket("P2")  # first response 2 business hours: due 12:00, at risk 11:36
    assert types(ticket.tick(MONDAY_10 + timedelta(minutes=95))) == []
    at_risk = ticket.tick(MONDAY_10 + timedelta(minutes=96))
    assert types(at_risk) == [EventType.SLA_AT_RISK]
    assert at_risk.events[0].at == MONDAY_10 + timedelta(minutes=96)
    breach = ticket.tick(MONDAY_10 + 2 * H)
    # A breach escalates one level (see test_escalation.py for the alerts).
    assert types(breach) == [EventType.SLA_BREACHED, EventType.ESCALATED]
    assert breach.events[0].data == {
        "metric": "first_response",
        "cycle": 1,
        "due_at": "2026-11-23T12:00:00+00:00",
    }
    assert types(ticket.tick(MONDAY_10 + 3 * H)) == []
    assert ticket.state.sla_breached


def test_next_wakeup_is_the_nearest_deadline() -> None:
    ticket = new_ticket("P2")
    assert ticket.next_wakeup() == MONDAY_10 + timedelta(minutes=96)
    ticket.tick(MONDAY_10 + timedelta(minutes=96))
    assert ticket.next_wakeup() == MONDAY_10 + 2 * H


def test_reopen_starts_a_new_resolution_cycle_and_keeps_the_first() -> None:
    ticket = ticket_in(Status.RESOLVED)
    first_cycle = ticket.state.clocks[Metric.RESOLUTION]
    assert first_cycle.state == ClockState.MET
    ticket.reopen(Reopen(actor="alice", reason="still broken"), MONDAY_10 + 2 * H)
    resolution = ticket.state.clocks[Metric.RESOLUTION]
    assert (resolution.cycle, resolution.started_at) == (2, MONDAY_10 + 2 * H)
    assert ticket.state.reopen_count == 1
    history = [c for c in ticket.state.clock_history if c.metric == Metric.RESOLUTION]
    assert [(c.cycle, c.met_at) for c in history] == [(1, first_cycle.met_at)]


def test_escalation_goes_up_by_default_and_refuses_the_same_level() -> None:
    ticket = new_ticket()
    ticket.escalate(Escalate(actor="alice", reason="needs L2"), MONDAY_10)
    assert ticket.state.escalation_level == 1
    ticket.escalate(Escalate(actor="alice", reason="back to L1", level=0), MONDAY_10)
    assert ticket.state.escalation_level == 0
    with pytest.raises(InvalidTransition, match="already at level 0"):
        ticket.validate_escalate(Escalate(actor="alice", reason="x", level=0))


def test_assignment_records_the_first_assignee() -> None:
    ticket = new_ticket()
    ticket.assign(Assign(actor="alice", agent_id="bob", team="frontline"), MONDAY_10)
    ticket.assign(Assign(actor="alice", agent_id="carol", team="billing"), MONDAY_10 + H)
    assert (ticket.state.assignee, ticket.state.team) == ("carol", "billing")
    assert ticket.state.first_assignee == "bob"
    with pytest.raises(InvalidTransition, match="already assigned to carol"):
        ticket.validate_assign(Assign(actor="alice", agent_id="carol", team="billing"))
