"""`Change`: one decision in progress on a ticket, its state so far and what it causes.

`Ticket` (`domain.ticket.aggregate`) opens one per action and per tick and hands it to the
concern modules (`clocks`, `escalation`, `transitions`, `customer`, `timers`, `agent`):
they read `change.state`, replace it (`update`), number events (`event`) and ask for
emails (`notify_customer`, `notify_staff`). The aggregate then keeps `change.state` and
returns `change.effects`, for the workflow to record and send. Nothing here reads a clock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.enums import EventType
from domain.sla.durations import BusinessDays
from domain.ticket.notifications import Notification, message_id, notification_key
from domain.ticket.state import TicketEvent, TicketState

SYSTEM = "system"


@dataclass(frozen=True)
class CreditAsk:
    """An automatic credit that needs an approver's decision first."""

    trigger: str
    amount: Decimal
    currency: str
    role: str


CUSTOMER = "customer"
# How many one-line event summaries a ticket keeps for the Temporal UI's details.
RECENT_EVENTS = 5


def agent_actor(actor: str) -> str:
    """How an agent (or the system acting for one) is named on the timeline."""
    return actor if actor == SYSTEM else f"agent:{actor}"


def recipient_tag(recipient: str) -> str:
    """A short stable stand-in for an address inside a Message-ID (which allows one `@`)."""
    return hashlib.sha256(recipient.lower().encode()).hexdigest()[:12]


@dataclass
class Effects:
    events: list[TicketEvent] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    freed_teams: list[str] = field(default_factory=list)
    """Teams where an agent's capacity freed up: their queues may be dispatched."""
    credit_asks: list[CreditAsk] = field(default_factory=list)
    """Automatic credits the policy sends through an approver: the workflow starts each."""
    left_incidents: list[str] = field(default_factory=list)
    """Incidents this ticket left by itself (reopened): each is told, once."""


class Change:
    """The ticket's state as one decision changes it, and the effects it asks for.

    Invariant: `state` is replaced (`update`), never mutated, so `change.state is before`
    tells whether anything changed since `before` was read."""

    def __init__(self, state: TicketState, mail_domain: str) -> None:
        self.state = state
        self.mail_domain = mail_domain
        self.effects = Effects()

    def update(self, **changes: Any) -> None:
        self.state = self.state.model_copy(update=changes)

    def event(self, type_: EventType, at: datetime, actor: str, **data: Any) -> TicketEvent:
        """The next numbered event of the timeline, also kept as a line for operators."""
        seq = self.state.last_seq + 1
        event = TicketEvent(
            ticket_id=self.state.ticket_id, seq=seq, type=type_, at=at, actor=actor, data=data
        )
        recent = f"#{seq} {type_.value} by {actor} at {at:%Y-%m-%d %H:%M:%S} UTC"
        self.update(
            last_seq=seq,
            updated_at=max(at, self.state.updated_at),
            recent_events=[*self.state.recent_events, recent][-RECENT_EVENTS:],
        )
        self.effects.events.append(event)
        return event

    def notify_customer(
        self, event: TicketEvent, template: str, **context: Any
    ) -> Notification | None:
        """An email to the requester, in their language, threaded under the acknowledgment;
        None when the desk switched this email off (`emails.disabled`)."""
        state = self.state
        if not state.mail.sends(template):
            return None
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
            context=self.template_context(state.requester.name, **self.due_context(), **context),
        )
        self.effects.notifications.append(notification)
        return notification

    def notify_staff(
        self,
        seq: int,
        template: str,
        recipient: str,
        *,
        purpose: str | None = None,
        **context: Any,
    ) -> None:
        """An email to staff (English). `purpose` tells apart two alerts of one event."""
        state = self.state
        kind = f"{template}.{purpose}" if purpose else template
        self.effects.notifications.append(
            Notification(
                key=notification_key(state.ticket_id, seq, kind, recipient),
                ticket_id=state.ticket_id,
                seq=seq,
                template=template,
                language="en",
                recipient=recipient,
                message_id=message_id(
                    state.ticket_id, seq, f"{kind}.{recipient_tag(recipient)}", self.mail_domain
                ),
                context=self.template_context(None, **context),
            )
        )

    def template_context(self, requester_name: str | None, **extra: Any) -> dict[str, Any]:
        """What every email template receives, plus the template's own values."""
        state = self.state
        return {
            "ticket_id": state.ticket_id,
            "subject": state.subject,
            "priority": state.priority,
            "plan": state.requester.plan,
            "status": state.status.value,
            "requester_name": requester_name,
            "category": state.category,
            "timezone": state.requester.timezone or state.sla.calendar.timezone,
            **extra,
        }

    def due_context(self) -> dict[str, Any]:
        """The next promise to the customer: the nearest live clock's due instant (UTC,
        ISO 8601; the email shows it in the customer's time zone) and its target."""
        live = [
            clock
            for clock in self.state.clocks.values()
            if clock.is_live and clock.due_at is not None and clock.breached_at is None
        ]
        nearest = min(live, key=lambda clock: clock.due_at or clock.started_at, default=None)
        if nearest is None or nearest.due_at is None:
            return {"due_at": None, "due_metric": None, "target_seconds": None}
        target = self.state.sla.targets.for_metric(nearest.metric)
        return {
            "due_at": nearest.due_at.isoformat(),
            "due_metric": nearest.metric.value,
            "target_seconds": nearest.target_seconds,
            # "3 business days" is said so, not as the business hours it came to.
            "target_business_days": target.days if isinstance(target, BusinessDays) else None,
        }
