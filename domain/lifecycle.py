"""Ticket transitions: creation, every agent and customer action, and what time does.

`ALLOWED` is the status machine. Each action has a `validate_*` (run by the
workflow's Update validator, so a refused action never enters history) and
an applier that returns the `Effects` to record and send.
"""

from __future__ import annotations

from datetime import datetime

from domain.actions import (
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
from domain.customer import CustomerTicket
from domain.enums import EventType, Metric, Status
from domain.errors import InvalidTransition
from domain.escalation_models import target_level
from domain.machine import CUSTOMER, Effects, agent_actor
from domain.sla import retarget, start_clock
from domain.ticket import TicketStarted, TicketState


class Ticket(CustomerTicket):
    """Creation and the agents' actions (the rest: `CustomerTicket`, `EscalatingTicket`)."""

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
            escalation=started.escalation,
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

    def validate_escalate(self, escalate: Escalate) -> None:
        self.check(Action.ESCALATE)
        level = target_level(self.state.escalation_level, escalate.level)
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

    # -- agent actions ---------------------------------------------------------------------------

    def validate_reply(self) -> None:
        """Replies are refused on closed tickets, except the follow-up a low score is owed."""
        if not (self.state.status == Status.CLOSED and self.followup_owed()):
            self.check(Action.REPLY)

    def reply(self, reply: AgentReply, at: datetime) -> Effects:
        """A public reply, emailed to the customer; a first reply opens a new ticket."""
        self.validate_reply()
        effects = Effects()
        event = self._event(
            effects,
            EventType.AGENT_REPLY,
            at,
            agent_actor(reply.actor),
            body=reply.body,
            public=True,
        )
        self._notify_customer(
            effects, event, "agent_reply", body=reply.body, agent_name=reply.agent_name
        )
        self.public_response(effects, at)
        self._meet(effects, Metric.CSAT_FOLLOWUP, at)
        if self.state.status == Status.NEW:
            self._set_status(effects, Status.OPEN, at, agent_actor(reply.actor))
        return effects

    def note(self, note: AgentNote, at: datetime) -> Effects:
        """Internal: never emailed, never an SLA response."""
        self.check(Action.NOTE)
        effects = Effects()
        self._event(
            effects, EventType.NOTE, at, agent_actor(note.actor), body=note.body, public=False
        )
        return effects

    def request_info(self, request: RequestInfo, at: datetime) -> Effects:
        """Ask the customer: emailed, a public response, and the clocks wait on the customer."""
        self.check(Action.REQUEST_INFO)
        effects = Effects()
        event = self._event(
            effects, EventType.INFO_REQUESTED, at, agent_actor(request.actor), body=request.body
        )
        self._notify_customer(
            effects, event, "request_info", body=request.body, agent_name=request.agent_name
        )
        self.public_response(effects, at)
        self._update(awaiting_since=at, reminder_sent_at=None)
        self._set_status(effects, Status.AWAITING_CUSTOMER, at, agent_actor(request.actor))
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
            agent_actor(assign.actor),
            **{"from": previous, "to": {"agent_id": assign.agent_id, "team": assign.team}},
        )
        if self.state.status == Status.NEW and assign.agent_id is not None:
            self._set_status(effects, Status.OPEN, at, agent_actor(assign.actor))
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
            agent_actor(change.actor),
            **{"from": old_priority, "to": change.priority},
            reason=change.reason,
            sla_policy={"from": old_policy, "to": change.sla.policy_id},
            sla_policy_version=change.sla.policy_version,
            due_before={k: v.isoformat() if v else None for k, v in before.items()},
            due_after={k: v.isoformat() if v else None for k, v in after.items()},
        )
        return effects

    def escalate(self, escalate: Escalate, at: datetime) -> Effects:
        """Up (alerting the level's team and telling the customer) or down, by hand."""
        self.validate_escalate(escalate)
        effects = Effects()
        self.raise_level(
            effects,
            at,
            reason=escalate.reason,
            trigger="manual",
            actor=agent_actor(escalate.actor),
            level=escalate.level,
        )
        return effects

    def hold(self, hold: Hold, at: datetime) -> Effects:
        """Waiting on a third party or an internal team (not the customer)."""
        self.check(Action.HOLD)
        effects = Effects()
        self._event(effects, EventType.ON_HOLD, at, agent_actor(hold.actor), reason=hold.reason)
        self._update(awaiting_since=None, reminder_sent_at=None)
        self._set_status(effects, Status.ON_HOLD, at, agent_actor(hold.actor))
        return effects

    def resolve(self, resolve: Resolve, at: datetime) -> Effects:
        """Emailed resolution note; meets resolution (and a still-owed first response)."""
        self.check(Action.RESOLVE)
        effects = Effects()
        event = self._event(
            effects,
            EventType.RESOLVED,
            at,
            agent_actor(resolve.actor),
            resolution=resolve.resolution,
        )
        self._notify_customer(
            effects,
            event,
            "resolution",
            resolution=resolve.resolution,
            agent_name=resolve.agent_name,
        )
        self._resolve(effects, at, agent_actor(resolve.actor), auto=False)
        return effects

    def reopen(self, reopen: Reopen, at: datetime) -> Effects:
        """An agent reopens a resolved ticket; its resolution clock starts a new cycle."""
        self.check(Action.REOPEN)
        effects = Effects()
        self._reopen(effects, at, agent_actor(reopen.actor), reopen.reason)
        return effects

    def close(self, close: Close, at: datetime) -> Effects:
        self.check(Action.CLOSE)
        effects = Effects()
        self._close(effects, at, agent_actor(close.actor))
        return effects
