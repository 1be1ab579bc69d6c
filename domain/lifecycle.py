"""Ticket transitions: creation, every agent and customer action, and what time does.

`ALLOWED` is the status machine. Each action has a `validate_*` (run by the
workflow's Update validator, so a refused action never enters history) and
an applier that returns the `Effects` to record and send.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.actions import (
    Action,
    AgentNote,
    AgentReply,
    Assign,
    ChangePriority,
    Close,
    CustomerReply,
    Escalate,
    Hold,
    Reopen,
    RequestInfo,
    Resolve,
)
from domain.enums import EventType, Metric, Status
from domain.errors import FollowUpRequired, InvalidTransition
from domain.machine import CUSTOMER, SYSTEM, Effects, TicketCore
from domain.sla import retarget, start_clock
from domain.ticket import TicketStarted, TicketState

_ACTIVE = frozenset({Status.NEW, Status.OPEN, Status.AWAITING_CUSTOMER, Status.ON_HOLD})

ALLOWED: dict[Action, frozenset[Status]] = {
    Action.REPLY: _ACTIVE | {Status.RESOLVED},
    Action.NOTE: _ACTIVE | {Status.RESOLVED},
    Action.REQUEST_INFO: _ACTIVE,
    Action.ASSIGN: _ACTIVE,
    Action.PRIORITY: _ACTIVE,
    Action.ESCALATE: _ACTIVE,
    Action.HOLD: frozenset({Status.NEW, Status.OPEN, Status.AWAITING_CUSTOMER}),
    Action.RESOLVE: _ACTIVE,
    Action.REOPEN: frozenset({Status.RESOLVED}),
    Action.CLOSE: frozenset({Status.RESOLVED}),
    Action.CUSTOMER_REPLY: _ACTIVE | {Status.RESOLVED},
}

_ORDER = [Status.NEW, Status.OPEN, Status.AWAITING_CUSTOMER, Status.ON_HOLD, Status.RESOLVED]


def _agent(actor: str) -> str:
    return actor if actor == SYSTEM else f"agent:{actor}"


class Ticket(TicketCore):
    # -- creation --------------------------------------------------------------------------------

    @classmethod
    def create(cls, started: TicketStarted) -> tuple[Ticket, Effects]:
        request, at = started.request, started.created_at
        state = TicketState(
            ticket_id=started.ticket_id,
            subject=request.subject,
            description=request.description,
            requester=request.requester,
            channel=request.channel,
            priority=started.priority,
            category=started.category,
            tags=list(request.tags),
            team=started.team,
            assignee=started.assignee,
            first_assignee=started.assignee,
            created_at=at,
            updated_at=at,
            sla=started.sla,
            lifecycle=started.lifecycle,
            related_ticket_id=started.related_ticket_id,
        )
        ticket = cls(state, started.mail_domain)
        for metric in (Metric.FIRST_RESPONSE, Metric.RESOLUTION):
            clock = start_clock(started.sla, metric, at)
            if clock is not None:
                ticket._set_clock(clock)
        effects = Effects()
        created = ticket._event(
            effects,
            EventType.CREATED,
            at,
            CUSTOMER,
            channel=request.channel.value,
            priority=started.priority.value,
            category=started.category,
            team=started.team,
            assignee=started.assignee,
            queued=started.assignee is None,
            related_ticket_id=started.related_ticket_id,
            sla_policy=started.sla.policy_id,
            sla_policy_version=started.sla.policy_version,
            sla_reason=started.sla.reason,
        )
        first_response = ticket.state.clocks.get(Metric.FIRST_RESPONSE)
        due = first_response.due_at if first_response else None
        ack = ticket._notify_customer(
            effects,
            created,
            "acknowledgment",
            first_response_due_at=due.strftime("%Y-%m-%d %H:%M UTC") if due else None,
        )
        ticket._update(thread_message_id=ack.message_id)
        return ticket, effects

    # -- validation ------------------------------------------------------------------------------

    def check(self, action: Action) -> None:
        """Refuse `action` unless the current status allows it, saying what is allowed."""
        allowed = ALLOWED[action]
        status = self.state.status
        if status in allowed:
            return
        hint = ", ".join(s.value for s in _ORDER if s in allowed)
        extra = ""
        if status == Status.CLOSED:
            extra = "; a closed ticket is final: the customer's next message opens a follow-up"
        raise InvalidTransition(
            f"cannot {action.value}: ticket {self.state.ticket_id} is {status.value}; "
            f"{action.value} is allowed when the ticket is {hint}{extra}"
        )

    def validate_escalate(self, escalate: Escalate) -> None:
        self.check(Action.ESCALATE)
        level = self._target_level(escalate)
        if level == self.state.escalation_level:
            raise InvalidTransition(
                f"cannot escalate: ticket {self.state.ticket_id} is already at level {level}"
            )

    def validate_priority(self, change: ChangePriority) -> None:
        self.check(Action.PRIORITY)
        if change.priority == self.state.priority:
            raise InvalidTransition(
                f"cannot change priority: ticket {self.state.ticket_id} "
                f"is already {change.priority}"
            )

    def validate_assign(self, assign: Assign) -> None:
        self.check(Action.ASSIGN)
        if assign.only_if_unassigned and self.state.assignee is not None:
            raise InvalidTransition(
                f"cannot assign from the queue: ticket {self.state.ticket_id} "
                f"is already assigned to {self.state.assignee}"
            )
        if assign.agent_id is not None and assign.agent_id == self.state.assignee:
            raise InvalidTransition(
                f"cannot assign: ticket {self.state.ticket_id} "
                f"is already assigned to {assign.agent_id}"
            )

    def _target_level(self, escalate: Escalate) -> int:
        if escalate.level is not None:
            return escalate.level
        return min(self.state.escalation_level + 1, 3)

    # -- agent actions ---------------------------------------------------------------------------

    def reply(self, reply: AgentReply, at: datetime) -> Effects:
        """A public reply, emailed to the customer; a first reply opens a new ticket."""
        self.check(Action.REPLY)
        effects = Effects()
        event = self._event(
            effects, EventType.AGENT_REPLY, at, _agent(reply.actor), body=reply.body, public=True
        )
        self._notify_customer(
            effects, event, "agent_reply", body=reply.body, agent_name=reply.agent_name
        )
        self.public_response(effects, at)
        if self.state.status == Status.NEW:
            self._set_status(effects, Status.OPEN, at, _agent(reply.actor))
        return effects

    def note(self, note: AgentNote, at: datetime) -> Effects:
        """Internal: never emailed, never an SLA response."""
        self.check(Action.NOTE)
        effects = Effects()
        self._event(effects, EventType.NOTE, at, _agent(note.actor), body=note.body, public=False)
        return effects

    def request_info(self, request: RequestInfo, at: datetime) -> Effects:
        """Ask the customer: emailed, a public response, and the clocks wait on the customer."""
        self.check(Action.REQUEST_INFO)
        effects = Effects()
        event = self._event(
            effects, EventType.INFO_REQUESTED, at, _agent(request.actor), body=request.body
        )
        self._notify_customer(
            effects, event, "request_info", body=request.body, agent_name=request.agent_name
        )
        self.public_response(effects, at)
        self._update(awaiting_since=at, reminder_sent_at=None)
        self._set_status(effects, Status.AWAITING_CUSTOMER, at, _agent(request.actor))
        return effects

    def assign(self, assign: Assign, at: datetime) -> Effects:
        self.validate_assign(assign)
        effects = Effects()
        previous = {"agent_id": self.state.assignee, "team": self.state.team}
        self._free_capacity(effects)
        self._update(assignee=assign.agent_id, team=assign.team)
        if assign.agent_id is not None and self.state.first_assignee is None:
            self._update(first_assignee=assign.agent_id)
        self._event(
            effects,
            EventType.ASSIGNED,
            at,
            _agent(assign.actor),
            **{"from": previous, "to": {"agent_id": assign.agent_id, "team": assign.team}},
        )
        if self.state.status == Status.NEW and assign.agent_id is not None:
            self._set_status(effects, Status.OPEN, at, _agent(assign.actor))
        return effects

    def change_priority(self, change: ChangePriority, at: datetime) -> Effects:
        """Re-apply the SLA policy for the new priority; the event keeps old and new due times."""
        self.validate_priority(change)
        effects = Effects()
        before = {m.value: c.due_at for m, c in self.state.clocks.items() if c.is_live}
        old_priority, old_policy = self.state.priority, self.state.sla.policy_id
        self._update(priority=change.priority, sla=change.sla)
        for metric, clock in list(self.state.clocks.items()):
            target = change.sla.targets.for_metric(metric.value)
            if target is None:
                self._cancel(metric)
            else:
                self._set_clock(retarget(change.sla, clock, target))
        after = {m.value: c.due_at for m, c in self.state.clocks.items() if c.is_live}
        self._event(
            effects,
            EventType.PRIORITY_CHANGED,
            at,
            _agent(change.actor),
            **{"from": old_priority, "to": change.priority},
            reason=change.reason,
            sla_policy={"from": old_policy, "to": change.sla.policy_id},
            sla_policy_version=change.sla.policy_version,
            due_before={k: v.isoformat() if v else None for k, v in before.items()},
            due_after={k: v.isoformat() if v else None for k, v in after.items()},
        )
        return effects

    def escalate(self, escalate: Escalate, at: datetime) -> Effects:
        self.validate_escalate(escalate)
        effects = Effects()
        level = self._target_level(escalate)
        previous = self.state.escalation_level
        self._update(escalation_level=level)
        self._event(
            effects,
            EventType.ESCALATED,
            at,
            _agent(escalate.actor),
            **{"from": previous, "to": level},
            reason=escalate.reason,
            direction="up" if level > previous else "down",
        )
        return effects

    def hold(self, hold: Hold, at: datetime) -> Effects:
        """Waiting on a third party or an internal team (not the customer)."""
        self.check(Action.HOLD)
        effects = Effects()
        self._event(effects, EventType.ON_HOLD, at, _agent(hold.actor), reason=hold.reason)
        self._update(awaiting_since=None, reminder_sent_at=None)
        self._set_status(effects, Status.ON_HOLD, at, _agent(hold.actor))
        return effects

    def resolve(self, resolve: Resolve, at: datetime) -> Effects:
        """Emailed resolution note; meets resolution (and a still-owed first response)."""
        self.check(Action.RESOLVE)
        effects = Effects()
        event = self._event(
            effects, EventType.RESOLVED, at, _agent(resolve.actor), resolution=resolve.resolution
        )
        self._notify_customer(
            effects,
            event,
            "resolution",
            resolution=resolve.resolution,
            agent_name=resolve.agent_name,
        )
        self._resolve(effects, at, _agent(resolve.actor), auto=False)
        return effects

    def _free_capacity(self, effects: Effects) -> None:
        """The assignee's slot frees up (resolved, or reassigned): their team's queue may move."""
        assignee = self.state.assignee
        if assignee is not None and self.state.team is not None:
            effects.freed_teams.append(self.state.team)

    def _resolve(self, effects: Effects, at: datetime, actor: str, *, auto: bool) -> None:
        self._free_capacity(effects)
        if not auto:
            self.public_response(effects, at)
        self._meet(effects, Metric.RESOLUTION, at)
        self._cancel(Metric.NEXT_UPDATE)
        self._update(resolved_at=at, resolved_by=actor, auto_resolved=auto, awaiting_since=None)
        self._set_status(effects, Status.RESOLVED, at, actor)

    def reopen(self, reopen: Reopen, at: datetime, actor: str | None = None) -> Effects:
        self.check(Action.REOPEN)
        effects = Effects()
        who = actor or _agent(reopen.actor)
        self._update(reopen_count=self.state.reopen_count + 1, resolved_at=None)
        self._event(
            effects,
            EventType.REOPENED,
            at,
            who,
            reason=reopen.reason,
            count=self.state.reopen_count,
        )
        self._set_status(effects, Status.OPEN, at, who)
        self._restart_resolution(at)
        return effects

    def _restart_resolution(self, at: datetime) -> None:
        """Per the policy: a new resolution cycle, or the old one continued (resolved time
        counted as a pause)."""
        clock = self.state.clocks.get(Metric.RESOLUTION)
        if clock is None or clock.met_at is None or self.state.sla.reopen == "new_cycle":
            self._start(Metric.RESOLUTION, at)
            return
        from domain.calendar import Interval

        continued = clock.model_copy(
            update={
                "met_at": None,
                "state": "breached" if clock.breached_at else "running",
                "pauses": [*clock.pauses, Interval(start=clock.met_at, end=at)],
            }
        )
        self._set_clock(retarget(self.state.sla, continued, continued.target_seconds))

    def close(self, close: Close, at: datetime, actor: str | None = None) -> Effects:
        self.check(Action.CLOSE)
        effects = Effects()
        who = actor or _agent(close.actor)
        self._update(closed_at=at)
        self._event(effects, EventType.CLOSED, at, who)
        self._set_status(effects, Status.CLOSED, at, who)
        return effects

    # -- the customer's side ---------------------------------------------------------------------

    def validate_customer_reply(self, at: datetime) -> None:
        """A closed ticket, or one resolved longer ago than the reopen window, takes no replies:
        the customer's message becomes a follow-up ticket instead."""
        state = self.state
        window = timedelta(seconds=state.lifecycle.reopen_window)
        late = (
            state.status == Status.RESOLVED
            and state.resolved_at is not None
            and (at > state.resolved_at + window)
        )
        if state.status == Status.CLOSED or late:
            raise FollowUpRequired(
                f"ticket {state.ticket_id} is {state.status.value} and takes no more replies; "
                "the message opens a follow-up ticket"
            )
        self.check(Action.CUSTOMER_REPLY)

    def customer_reply(self, reply: CustomerReply, at: datetime) -> Effects:
        """Resumes what waited on the customer; on a resolved ticket it reopens it."""
        self.validate_customer_reply(at)
        effects = Effects()
        self._event(
            effects,
            EventType.CUSTOMER_REPLY,
            at,
            CUSTOMER,
            body=reply.body,
            message_id=reply.message_id,
        )
        if self.state.status == Status.RESOLVED:
            reopened = self.reopen(Reopen(actor=CUSTOMER, reason="customer replied"), at, CUSTOMER)
            effects.events += reopened.events
            effects.notifications += reopened.notifications
        elif self.state.status == Status.AWAITING_CUSTOMER:
            self._update(awaiting_since=None, reminder_sent_at=None)
            self._set_status(effects, Status.OPEN, at, CUSTOMER)
        return effects

    # -- time ------------------------------------------------------------------------------------

    def tick(self, now: datetime) -> Effects:
        """Everything due by `now`: SLA points, reminder, auto-resolve, auto-close."""
        effects = Effects()
        self._advance_clocks(effects, now)
        deadline = self.lifecycle_deadline()
        if deadline is None or deadline > now or self.state.status == Status.CLOSED:
            return effects
        status = self.state.status
        if status == Status.AWAITING_CUSTOMER and self.state.reminder_sent_at is None:
            event = self._event(effects, EventType.REMINDER_SENT, deadline, SYSTEM)
            self._notify_customer(effects, event, "awaiting_reminder")
            self._update(reminder_sent_at=deadline)
        elif status == Status.AWAITING_CUSTOMER:
            event = self._event(
                effects, EventType.RESOLVED, deadline, SYSTEM, resolution="no reply from customer"
            )
            self._notify_customer(effects, event, "auto_close_notice")
            self._resolve(effects, deadline, SYSTEM, auto=True)
        elif status == Status.RESOLVED:
            effects.events += self.close(Close(actor=SYSTEM), deadline, SYSTEM).events
        return effects

    def finished(self, now: datetime) -> bool:
        """Closed, and past the window in which it may still receive a survey answer."""
        end = self.ends_at()
        return self.state.status == Status.CLOSED and end is not None and now >= end
