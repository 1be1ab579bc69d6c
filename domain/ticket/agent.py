"""The agents' actions on a ticket, each a `check_*` (what the workflow's Update validator
runs, so a refused action never enters history) and an applier over a `Change`."""

from __future__ import annotations

from datetime import datetime

from domain.enums import EventType, Metric, Status
from domain.errors import InvalidTransition
from domain.sla import clocks as sla
from domain.ticket import clocks, customer, escalation, transitions, unresolved
from domain.ticket.actions import (
    Action,
    AgentNote,
    AgentReply,
    Assign,
    ChangePriority,
    Close,
    Escalate,
    Hold,
    Reopen,
    RequestInfo,
    Resolve,
)
from domain.ticket.change import Change, agent_actor
from domain.ticket.state import TicketState

# -- checks ----------------------------------------------------------------------------------


def check_reply(state: TicketState) -> None:
    """Replies are refused on closed tickets, except the follow-up a low score is owed."""
    if not (state.status == Status.CLOSED and customer.followup_owed(state)):
        transitions.check(state, Action.REPLY)


def check_assign(state: TicketState, assign: Assign) -> None:
    transitions.check(state, Action.ASSIGN)
    if assign.only_if_unassigned and state.assignee is not None:
        raise InvalidTransition(
            f"cannot assign from the queue: ticket {state.ticket_id} "
            f"is already assigned to {state.assignee}"
        )
    if assign.only_if_unassigned and assign.team != state.team:
        # The queue was read from the store, which may not have seen a move yet (an
        # escalation level's team): a dispatch for the old queue must not pull it back.
        raise InvalidTransition(
            f"cannot assign from the {assign.team} queue: ticket {state.ticket_id} "
            f"has moved to {state.team or 'no team'}"
        )
    if assign.agent_id is not None and assign.agent_id == state.assignee:
        raise InvalidTransition(
            f"cannot assign: ticket {state.ticket_id} is already assigned to {assign.agent_id}"
        )


def check_priority(state: TicketState, change: ChangePriority) -> None:
    transitions.check(state, Action.PRIORITY)
    if change.priority == state.priority:
        raise InvalidTransition(
            f"cannot change priority: ticket {state.ticket_id} is already {change.priority}"
        )


def check_escalate(state: TicketState, escalate: Escalate) -> None:
    transitions.check(state, Action.ESCALATE)
    ladder = state.escalation
    level = ladder.target_level(state.escalation_level, escalate.level)
    if level > ladder.top_level:
        raise InvalidTransition(
            f"cannot escalate: ticket {state.ticket_id}'s ladder has levels 0-{ladder.top_level}"
        )
    if level == state.escalation_level:
        raise InvalidTransition(
            f"cannot escalate: ticket {state.ticket_id} is already at level {level}"
        )


# -- actions ---------------------------------------------------------------------------------


def reply(change: Change, reply: AgentReply, at: datetime) -> None:
    """A public reply, emailed to the customer; a first reply opens a new ticket."""
    check_reply(change.state)
    actor = agent_actor(reply.actor)
    event = change.event(EventType.AGENT_REPLY, at, actor, body=reply.body, public=True)
    change.notify_customer(event, "agent_reply", body=reply.body, agent_name=reply.agent_name)
    clocks.public_response(change, at)
    clocks.meet(change, Metric.CSAT_FOLLOWUP, at)
    if change.state.status == Status.NEW:
        transitions.set_status(change, Status.OPEN, at, actor)


def note(change: Change, note: AgentNote, at: datetime) -> None:
    """Internal: never emailed, never an SLA response."""
    transitions.check(change.state, Action.NOTE)
    change.event(EventType.NOTE, at, agent_actor(note.actor), body=note.body, public=False)


def request_info(change: Change, request: RequestInfo, at: datetime) -> None:
    """Ask the customer: emailed, a public response, and the clocks wait on the customer."""
    transitions.check(change.state, Action.REQUEST_INFO)
    actor = agent_actor(request.actor)
    event = change.event(EventType.INFO_REQUESTED, at, actor, body=request.body)
    change.notify_customer(event, "request_info", body=request.body, agent_name=request.agent_name)
    clocks.public_response(change, at)
    change.update(awaiting_since=at, reminder_sent_at=None)
    transitions.set_status(change, Status.AWAITING_CUSTOMER, at, actor)


def assign(change: Change, assign: Assign, at: datetime) -> None:
    check_assign(change.state, assign)
    actor = agent_actor(assign.actor)
    previous = {"agent_id": change.state.assignee, "team": change.state.team}
    transitions.free_capacity(change)
    change.update(assignee=assign.agent_id, team=assign.team)
    if assign.agent_id is not None and change.state.first_assignee is None:
        change.update(first_assignee=assign.agent_id)
    change.event(
        EventType.ASSIGNED,
        at,
        actor,
        **{"from": previous, "to": {"agent_id": assign.agent_id, "team": assign.team}},
    )
    if change.state.status == Status.NEW and assign.agent_id is not None:
        transitions.set_status(change, Status.OPEN, at, actor)


def change_priority(change: Change, new: ChangePriority, at: datetime) -> None:
    """Re-apply the SLA policy for the new priority; the event keeps old and new due times."""
    check_priority(change.state, new)
    before = {m.value: c.due_at for m, c in change.state.clocks.items() if c.is_live}
    old_priority, old_policy = change.state.priority, change.state.sla.policy_id
    change.update(priority=new.priority, sla=new.sla)
    unresolved.follow_ladder(change)
    for metric, clock in list(change.state.clocks.items()):
        target = new.sla.targets.for_metric(metric.value)
        if target is None:
            clocks.cancel(change, metric)
        else:
            clocks.set_clock(change, sla.retarget(new.sla, clock, target))
    after = {m.value: c.due_at for m, c in change.state.clocks.items() if c.is_live}
    change.event(
        EventType.PRIORITY_CHANGED,
        at,
        agent_actor(new.actor),
        **{"from": old_priority, "to": new.priority},
        reason=new.reason,
        sla_policy={"from": old_policy, "to": new.sla.policy_id},
        sla_policy_version=new.sla.policy_version,
        due_before={k: v.isoformat() if v else None for k, v in before.items()},
        due_after={k: v.isoformat() if v else None for k, v in after.items()},
    )


def escalate(change: Change, escalate: Escalate, at: datetime) -> None:
    """Up (alerting the level's team and telling the customer) or down, by hand."""
    check_escalate(change.state, escalate)
    escalation.raise_level(
        change,
        at,
        reason=escalate.reason,
        trigger="manual",
        actor=agent_actor(escalate.actor),
        level=escalate.level,
    )


def hold(change: Change, hold: Hold, at: datetime) -> None:
    """Waiting on a third party or an internal team (not the customer)."""
    transitions.check(change.state, Action.HOLD)
    actor = agent_actor(hold.actor)
    change.event(EventType.ON_HOLD, at, actor, reason=hold.reason)
    change.update(awaiting_since=None, reminder_sent_at=None)
    transitions.set_status(change, Status.ON_HOLD, at, actor)


def resolve(change: Change, resolve: Resolve, at: datetime) -> None:
    """Emailed resolution note; meets resolution (and a still-owed first response)."""
    transitions.check(change.state, Action.RESOLVE)
    actor = agent_actor(resolve.actor)
    event = change.event(EventType.RESOLVED, at, actor, resolution=resolve.resolution)
    change.notify_customer(
        event, "resolution", resolution=resolve.resolution, agent_name=resolve.agent_name
    )
    transitions.resolve(change, at, actor, auto=False)


def reopen(change: Change, reopen: Reopen, at: datetime) -> None:
    """An agent reopens a resolved ticket; its resolution clock starts a new cycle."""
    transitions.check(change.state, Action.REOPEN)
    transitions.reopen(change, at, agent_actor(reopen.actor), reopen.reason)


def close(change: Change, close: Close, at: datetime) -> None:
    transitions.check(change.state, Action.CLOSE)
    transitions.close(change, at, agent_actor(close.actor))
