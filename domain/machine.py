"""The ticket state machine: pure transitions from (state, input, instant) to (state, effects).

The workflow is a thin durable shell around these functions: it supplies
`workflow.now()`, records the events and sends the notifications they return.
Nothing here reads a clock or does I/O, so every rule is unit-testable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.actions import AgentReply
from domain.enums import EventType, Metric, Status
from domain.errors import InvalidTransition
from domain.notifications import Notification, message_id, notification_key
from domain.sla import SlaTransition, advance, meet, start_clock
from domain.ticket import TicketEvent, TicketStarted, TicketState

SYSTEM = "system"


@dataclass
class Effects:
    events: list[TicketEvent] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)

    def extend(self, other: Effects) -> None:
        self.events += other.events
        self.notifications += other.notifications


class Ticket:
    """A mutable wrapper over `TicketState` that numbers events as it goes."""

    def __init__(self, state: TicketState, mail_domain: str) -> None:
        self.state = state
        self.mail_domain = mail_domain

    # -- bookkeeping -----------------------------------------------------------------

    def _event(
        self, effects: Effects, type_: EventType, at: datetime, actor: str, **data: Any
    ) -> TicketEvent:
        seq = self.state.last_seq + 1
        event = TicketEvent(
            ticket_id=self.state.ticket_id, seq=seq, type=type_, at=at, actor=actor, data=data
        )
        self.state = self.state.model_copy(update={"last_seq": seq, "updated_at": at})
        effects.events.append(event)
        return event

    def _notify_customer(
        self, effects: Effects, event: TicketEvent, template: str, **context: Any
    ) -> Notification:
        state = self.state
        recipient = state.requester.email
        mid = message_id(state.ticket_id, event.seq, template, self.mail_domain)
        root = state.thread_message_id
        notification = Notification(
            key=notification_key(state.ticket_id, event.seq, template, recipient),
            ticket_id=state.ticket_id,
            seq=event.seq,
            template=template,
            language=state.requester.language,
            recipient=recipient,
            recipient_name=state.requester.name,
            message_id=mid,
            in_reply_to=root,
            references=[root] if root else [],
            context={
                "ticket_id": state.ticket_id,
                "subject": state.subject,
                "priority": state.priority.value,
                "requester_name": state.requester.name,
                **context,
            },
        )
        effects.notifications.append(notification)
        return notification

    def _sla_events(self, effects: Effects, transitions: list[SlaTransition]) -> None:
        kinds = {
            "at_risk": EventType.SLA_AT_RISK,
            "breached": EventType.SLA_BREACHED,
            "met": EventType.SLA_MET,
        }
        for t in transitions:
            data: dict[str, Any] = {"metric": t.metric.value, "cycle": t.cycle}
            if t.percent is not None:
                data["percent"] = t.percent
            if t.due_at is not None:
                data["due_at"] = t.due_at.isoformat()
            data["reached_at"] = t.at.isoformat()
            self._event(effects, kinds[t.kind], t.at, SYSTEM, **data)

    # -- transitions ---------------------------------------------------------------------

    @classmethod
    def create(cls, started: TicketStarted) -> tuple[Ticket, Effects]:
        request = started.request
        at = started.created_at
        clocks = {}
        first_response = start_clock(started.sla, Metric.FIRST_RESPONSE, at)
        if first_response is not None:
            clocks[Metric.FIRST_RESPONSE] = first_response
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
            created_at=at,
            updated_at=at,
            sla=started.sla,
            clocks=clocks,
        )
        ticket = cls(state, started.mail_domain)
        effects = Effects()
        created = ticket._event(
            effects,
            EventType.CREATED,
            at,
            "customer",
            channel=request.channel.value,
            priority=started.priority.value,
            category=started.category,
            team=started.team,
            sla_policy=started.sla.policy_id,
            sla_policy_version=started.sla.policy_version,
            sla_reason=started.sla.reason,
        )
        due = first_response.due_at if first_response else None
        ack = ticket._notify_customer(
            effects,
            created,
            "acknowledgment",
            first_response_due_at=due.isoformat(timespec="minutes") if due else None,
        )
        ticket.state = ticket.state.model_copy(update={"thread_message_id": ack.message_id})
        return ticket, effects

    def validate_reply(self, reply: AgentReply) -> None:
        if self.state.status == Status.CLOSED:
            raise InvalidTransition(
                f"cannot reply: ticket {self.state.ticket_id} is closed; "
                "the customer can open a follow-up ticket"
            )
        if not reply.body.strip():
            raise InvalidTransition("cannot reply with an empty body")

    def reply(self, reply: AgentReply, at: datetime) -> Effects:
        """A public agent reply: emailed to the customer, meets the first-response clock."""
        self.validate_reply(reply)
        effects = Effects()
        event = self._event(
            effects, EventType.AGENT_REPLY, at, f"agent:{reply.actor}", body=reply.body, public=True
        )
        self._notify_customer(
            effects, event, "agent_reply", body=reply.body, agent_name=reply.agent_name
        )
        clock = self.state.clocks.get(Metric.FIRST_RESPONSE)
        if clock is not None and clock.is_live:
            met_clock, transitions = meet(clock, at)
            self.state = self.state.model_copy(
                update={"clocks": {**self.state.clocks, Metric.FIRST_RESPONSE: met_clock}}
            )
            self._sla_events(effects, transitions)
        if self.state.first_responded_at is None:
            self.state = self.state.model_copy(update={"first_responded_at": at})
        if self.state.status == Status.NEW:
            self._set_status(effects, Status.OPEN, at, f"agent:{reply.actor}")
        return effects

    def _set_status(self, effects: Effects, status: Status, at: datetime, actor: str) -> None:
        previous = self.state.status
        self.state = self.state.model_copy(update={"status": status})
        self._event(
            effects,
            EventType.STATUS_CHANGED,
            at,
            actor,
            **{"from": previous.value, "to": status.value},
        )

    def note_notification(
        self,
        effects: Effects,
        kind: EventType,
        notification: Notification,
        at: datetime,
        error: str | None = None,
    ) -> None:
        """Put a sent (or permanently refused) email on the timeline."""
        data: dict[str, Any] = {
            "template": notification.template,
            "for_seq": notification.seq,
            "message_id": notification.message_id,
        }
        if error:
            data["error"] = error
        self._event(effects, kind, at, SYSTEM, **data)

    def tick(self, now: datetime) -> Effects:
        """Let every clock reach `now`: at-risk points and breaches, each once per cycle."""
        effects = Effects()
        clocks = dict(self.state.clocks)
        transitions: list[SlaTransition] = []
        for metric, clock in clocks.items():
            clocks[metric], reached = advance(self.state.sla, clock, now)
            transitions += reached
        if transitions:
            self.state = self.state.model_copy(update={"clocks": clocks})
            self._sla_events(effects, sorted(transitions, key=lambda t: t.at))
        return effects
