"""The ticket state machine's core: numbered events, notifications, clocks and timers.

The workflow is a thin durable shell around `domain.lifecycle.Ticket`: it
supplies `workflow.now()`, records the events and sends the notifications the
transitions return. Nothing here reads a clock or does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from domain.actions import Action
from domain.enums import EventType, Metric, Status
from domain.errors import InvalidTransition
from domain.notifications import Notification, message_id, notification_key
from domain.sla import (
    SlaClock,
    SlaTransition,
    advance,
    cancel,
    elapsed_business_seconds,
    meet,
    next_deadline,
    pause,
    resume,
    start_clock,
)
from domain.ticket import TicketEvent, TicketState

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
    Action.CSAT: frozenset({Status.RESOLVED, Status.CLOSED}),
}

_ORDER = [Status.NEW, Status.OPEN, Status.AWAITING_CUSTOMER, Status.ON_HOLD, Status.RESOLVED]


def agent_actor(actor: str) -> str:
    """How an agent (or the system acting for one) is named on the timeline."""
    return actor if actor == SYSTEM else f"agent:{actor}"


SYSTEM = "system"
# How many one-line event summaries a ticket keeps for the Temporal UI's details.
RECENT_EVENTS = 5
CUSTOMER = "customer"
# After closing, the workflow stays reachable for the survey and late answers.
CSAT_RESPONSE_WINDOW = timedelta(days=7)


@dataclass
class Effects:
    events: list[TicketEvent] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    freed_teams: list[str] = field(default_factory=list)
    """Teams where an agent's capacity freed up: their queues may be dispatched."""


class TicketCore:
    """A mutable wrapper over `TicketState` that numbers events and manages clocks."""

    def __init__(self, state: TicketState, mail_domain: str) -> None:
        self.state = state
        self.mail_domain = mail_domain

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

    def _update(self, **changes: Any) -> None:
        self.state = self.state.model_copy(update=changes)

    # -- events and notifications ----------------------------------------------------------------

    def _event(
        self, effects: Effects, type_: EventType, at: datetime, actor: str, **data: Any
    ) -> TicketEvent:
        seq = self.state.last_seq + 1
        event = TicketEvent(
            ticket_id=self.state.ticket_id, seq=seq, type=type_, at=at, actor=actor, data=data
        )
        recent = f"#{seq} {type_.value} by {actor} at {at:%Y-%m-%d %H:%M:%S} UTC"
        self._update(
            last_seq=seq,
            updated_at=max(at, self.state.updated_at),
            recent_events=[*self.state.recent_events, recent][-RECENT_EVENTS:],
        )
        effects.events.append(event)
        return event

    def _notify_customer(
        self, effects: Effects, event: TicketEvent, template: str, **context: Any
    ) -> Notification:
        state = self.state
        recipient = state.requester.email
        root = state.thread_message_id
        notification = Notification(
            key=notification_key(state.ticket_id, event.seq, template, recipient),
            ticket_id=state.ticket_id,
            seq=event.seq,
            template=template,
            language=state.requester.language,
            recipient=recipient,
            recipient_name=state.requester.name,
            message_id=message_id(state.ticket_id, event.seq, template, self.mail_domain),
            in_reply_to=root,
            references=[root] if root else [],
            context=self.template_context(state.requester.name, **context),
        )
        effects.notifications.append(notification)
        return notification

    def template_context(self, requester_name: str | None, **extra: Any) -> dict[str, Any]:
        """What every email template receives, plus the template's own values."""
        state = self.state
        return {
            "ticket_id": state.ticket_id,
            "subject": state.subject,
            "priority": state.priority.value,
            "status": state.status.value,
            "requester_name": requester_name,
            **extra,
        }

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
        if kind == EventType.NOTIFICATION_FAILED:
            self._update(notifications_failed=self.state.notifications_failed + 1)
        self._event(effects, kind, at, SYSTEM, **data)

    def _set_status(self, effects: Effects, status: Status, at: datetime, actor: str) -> None:
        previous = self.state.status
        if previous == status:
            return
        self._update(status=status)
        self._event(
            effects, EventType.STATUS_CHANGED, at, actor, **{"from": previous, "to": status}
        )
        self._apply_pauses(effects, at)

    # -- clocks ----------------------------------------------------------------------------------

    def _sla_events(self, effects: Effects, transitions: list[SlaTransition]) -> None:
        kinds = {
            "at_risk": EventType.SLA_AT_RISK,
            "breached": EventType.SLA_BREACHED,
            "met": EventType.SLA_MET,
        }
        for t in sorted(transitions, key=lambda t: t.at):
            data: dict[str, Any] = {"metric": t.metric.value, "cycle": t.cycle}
            if t.percent is not None:
                data["percent"] = t.percent
            if t.due_at is not None:
                data["due_at"] = t.due_at.isoformat()
            self._event(effects, kinds[t.kind], t.at, SYSTEM, **data)

    def _set_clock(self, clock: SlaClock) -> None:
        self._update(clocks={**self.state.clocks, clock.metric: clock})

    def _start(self, effects: Effects, metric: Metric, at: datetime) -> None:
        """Start a new cycle of `metric`, archiving the previous one."""
        previous = self.state.clocks.get(metric)
        cycle = previous.cycle + 1 if previous else 1
        if previous is not None:
            self._update(clock_history=[*self.state.clock_history, cancel(previous)])
        clock = start_clock(self.state.sla, metric, at, cycle)
        if clock is None:
            clocks = dict(self.state.clocks)
            clocks.pop(metric, None)
            self._update(clocks=clocks)
            return
        self._set_clock(clock)
        self._apply_pauses(effects, at)

    def _meet(self, effects: Effects, metric: Metric, at: datetime) -> bool:
        clock = self.state.clocks.get(metric)
        if clock is None or not clock.is_live:
            return False
        met, transitions = meet(clock, at)
        self._set_clock(met)
        self._sla_events(effects, transitions)
        return True

    def _cancel(self, metric: Metric) -> None:
        clock = self.state.clocks.get(metric)
        if clock is not None and clock.is_live:
            self._set_clock(cancel(clock))

    def _apply_pauses(self, effects: Effects, at: datetime) -> None:
        """Pause the clocks the current status pauses (per the snapshot); resume the others.
        Each pause and resumption is an event naming the status and the business time used."""
        status = self.state.status
        for metric, clock in self.state.clocks.items():
            paused_statuses = self.state.sla.pauses.get(metric, [])
            should_pause = status in paused_statuses
            if should_pause and clock.is_live and clock.paused_since is None:
                changed, kind = pause(clock, at), EventType.SLA_PAUSED
            elif not should_pause and clock.paused_since is not None:
                changed, kind = resume(self.state.sla, clock, at), EventType.SLA_RESUMED
            else:
                continue
            self._set_clock(changed)
            data: dict[str, Any] = {
                "metric": metric.value,
                "cycle": changed.cycle,
                "status": status.value,
                "business_seconds_used": elapsed_business_seconds(self.state.sla, changed, at),
            }
            if kind == EventType.SLA_RESUMED:
                data["due_at"] = changed.due_at.isoformat() if changed.due_at else None
            self._event(effects, kind, at, SYSTEM, **data)

    def public_response(self, effects: Effects, at: datetime) -> None:
        """An agent's public message: meets first response and this update cycle, starts the
        next one."""
        self._meet(effects, Metric.FIRST_RESPONSE, at)
        if self.state.first_responded_at is None:
            self._update(first_responded_at=at)
        self._meet(effects, Metric.NEXT_UPDATE, at)
        if self.state.status not in (Status.RESOLVED, Status.CLOSED):
            self._start(effects, Metric.NEXT_UPDATE, at)

    # -- time ------------------------------------------------------------------------------------

    def lifecycle_deadline(self) -> datetime | None:
        """When the next non-SLA timer is due: reminder, auto-resolve, auto-close, end."""
        state, spec = self.state, self.state.lifecycle
        if state.status == Status.AWAITING_CUSTOMER and state.awaiting_since is not None:
            if state.reminder_sent_at is None:
                return state.awaiting_since + timedelta(
                    seconds=spec.awaiting_customer_reminder_after
                )
            return state.reminder_sent_at + timedelta(seconds=spec.auto_resolve_after_reminder)
        if state.status == Status.RESOLVED and state.resolved_at is not None:
            return state.resolved_at + timedelta(seconds=spec.auto_close_resolved_after)
        if state.status == Status.CLOSED and state.closed_at is not None:
            return self.ends_at()
        return None

    def ends_at(self) -> datetime | None:
        """When a closed ticket's workflow may complete: after the survey and its answer window."""
        if self.state.closed_at is None:
            return None
        survey = timedelta(seconds=self.state.lifecycle.csat_survey_after)
        return self.state.closed_at + survey + CSAT_RESPONSE_WINDOW

    def next_wakeup(self) -> datetime | None:
        """The nearest instant at which the ticket does something by itself."""
        sla = next_deadline(self.state.sla, list(self.state.clocks.values()))
        lifecycle = self.lifecycle_deadline()
        return min((t for t in (sla, lifecycle) if t is not None), default=None)

    def _advance_clocks(self, effects: Effects, now: datetime) -> list[SlaTransition]:
        transitions: list[SlaTransition] = []
        for clock in list(self.state.clocks.values()):
            advanced, reached = advance(self.state.sla, clock, now)
            if reached:
                self._set_clock(advanced)
                transitions += reached
        self._sla_events(effects, transitions)
        return transitions
