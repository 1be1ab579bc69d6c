"""The status machine: which action each status allows, and the status changes that agents,
customers and time share (resolve, reopen, close).

Statuses: `new` → `open` → `awaiting_customer` / `on_hold` → `resolved` → `closed`, with
`reopen` back to `open`. Every change of status is a `status_changed` event and pauses or
resumes the clocks the SLA snapshot says it does.
"""

from __future__ import annotations

from datetime import datetime

from domain.enums import EventType, Metric, Status
from domain.errors import InvalidTransition
from domain.ticket import clocks, escalation
from domain.ticket.actions import Action
from domain.ticket.change import Change
from domain.ticket.state import TicketState

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
    Action.LINK: _ACTIVE | {Status.RESOLVED},
}

_ORDER = [Status.NEW, Status.OPEN, Status.AWAITING_CUSTOMER, Status.ON_HOLD, Status.RESOLVED]


def check(state: TicketState, action: Action) -> None:
    """Refuse `action` unless the current status allows it, saying what is allowed."""
    allowed = ALLOWED[action]
    status = state.status
    if status in allowed:
        return
    hint = ", ".join(s.value for s in _ORDER if s in allowed)
    extra = ""
    if status == Status.CLOSED:
        extra = "; a closed ticket is final: the customer's next message opens a follow-up"
    raise InvalidTransition(
        f"cannot {action.value}: ticket {state.ticket_id} is {status.value}; "
        f"{action.value} is allowed when the ticket is {hint}{extra}"
    )


def set_status(change: Change, status: Status, at: datetime, actor: str) -> None:
    previous = change.state.status
    if previous == status:
        return
    change.update(status=status)
    event = change.event(EventType.STATUS_CHANGED, at, actor, **{"from": previous, "to": status})
    clocks.apply_pauses(change, at)
    if status in change.state.mail.status_changes:
        # Only desks that ask for it (`emails.status_changes`): none did before, so recorded
        # histories ask for no such email and replay unchanged.
        change.notify_customer(
            event, "status_change", previous_status=previous.value, new_status=status.value
        )


def free_capacity(change: Change) -> None:
    """The assignee's slot frees up (resolved, or reassigned): their team's queue may move."""
    if change.state.assignee is not None and change.state.team is not None:
        change.effects.freed_teams.append(change.state.team)


def resolve(change: Change, at: datetime, actor: str, *, auto: bool) -> None:
    """Resolved by an agent (a public response too) or automatically (no reply came)."""
    free_capacity(change)
    if not auto:
        clocks.public_response(change, at)
    clocks.meet(change, Metric.RESOLUTION, at)
    clocks.cancel(change, Metric.NEXT_UPDATE)
    change.update(resolved_at=at, resolved_by=actor, auto_resolved=auto, awaiting_since=None)
    set_status(change, Status.RESOLVED, at, actor)


def reopen(change: Change, at: datetime, who: str, reason: str) -> None:
    """Back to open; the resolution clock restarts; the policy's reopen threshold escalates."""
    count = change.state.reopen_count + 1
    change.update(reopen_count=count, resolved_at=None)
    change.event(EventType.REOPENED, at, who, reason=reason, count=count)
    if (incident_id := change.state.incident_id) is not None:
        # The incident resolved it, the customer says it is not over: it is this ticket's own
        # problem now, so it leaves the incident (which is told, `Effects.left_incidents`).
        change.update(incident_id=None)
        change.event(
            EventType.INCIDENT_UNLINKED, at, who, incident_id=incident_id, reason="reopened"
        )
        change.effects.left_incidents.append(incident_id)
    set_status(change, Status.OPEN, at, who)
    clocks.restart_resolution(change, at)
    if count == change.state.escalation.reopen_threshold:
        escalation.raise_level(change, at, reason=f"reopened {count} times", trigger="reopens")


def close(change: Change, at: datetime, who: str) -> None:
    change.update(closed_at=at)
    change.event(EventType.CLOSED, at, who)
    set_status(change, Status.CLOSED, at, who)
