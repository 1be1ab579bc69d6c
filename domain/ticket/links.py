"""A ticket's links: to a major incident (whose updates and resolution reach its customer)
and to a parent ticket. Each a `check_*` (the Update validator) and an applier over a
`Change`; an incident's update or resolution is applied once per update id."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.enums import EventType, Status
from domain.errors import InvalidTransition
from domain.ticket import clocks, transitions
from domain.ticket.actions import Action
from domain.ticket.change import Change, agent_actor
from domain.ticket.state import TicketState

APPLIED_KEPT = 300
"""Incident update ids a ticket remembers (far more than one incident ever posts)."""
OPEN = (Status.NEW, Status.OPEN, Status.AWAITING_CUSTOMER, Status.ON_HOLD)


class _Input(BaseModel):
    model_config = ConfigDict(frozen=True)


class IncidentLink(_Input):
    incident_id: str
    actor: str


class IncidentNotice(_Input):
    """One incident update (or its resolution) for one linked ticket, sent by the fan-out."""

    incident_id: str
    update_id: str
    kind: Literal["update", "resolve"]
    body: str
    incident_status: str


class ParentLink(_Input):
    actor: str
    parent_id: str


def incident_actor(incident_id: str) -> str:
    return f"incident:{incident_id}"


def check_link_incident(state: TicketState, link: IncidentLink) -> None:
    if state.status == Status.CLOSED:
        raise InvalidTransition(f"cannot link: ticket {state.ticket_id} is closed")
    if state.incident_id not in (None, link.incident_id):
        raise InvalidTransition(
            f"cannot link: ticket {state.ticket_id} is linked to incident {state.incident_id}"
        )


def link_incident(change: Change, link: IncidentLink, at: datetime) -> None:
    check_link_incident(change.state, link)
    if change.state.incident_id == link.incident_id:
        return
    change.update(incident_id=link.incident_id)
    change.event(
        EventType.INCIDENT_LINKED, at, agent_actor(link.actor), incident_id=link.incident_id
    )


def unlink_incident(
    change: Change, incident_id: str, at: datetime, actor: str, reason: str
) -> bool:
    """Leave the incident (unlinked by an agent, or reopened after it resolved it)."""
    if change.state.incident_id != incident_id:
        return False
    change.update(incident_id=None)
    change.event(EventType.INCIDENT_UNLINKED, at, actor, incident_id=incident_id, reason=reason)
    return True


def apply_notice(change: Change, notice: IncidentNotice, at: datetime) -> bool:
    """The incident's public update (emailed to the requester in their language, a public
    response for the clocks) or its resolution (resolves the ticket if still open); False
    when not applied: applied before, not linked to that incident, or nothing to do."""
    state = change.state
    if state.incident_id != notice.incident_id or notice.update_id in state.incident_updates:
        return False
    change.update(incident_updates=[*state.incident_updates, notice.update_id][-APPLIED_KEPT:])
    actor = incident_actor(notice.incident_id)
    if notice.kind == "resolve":
        if state.status not in OPEN:
            return False
        event = change.event(
            EventType.RESOLVED, at, actor, resolution=notice.body, incident_id=notice.incident_id
        )
        change.notify_customer(event, "resolution", resolution=notice.body, agent_name=None)
        transitions.resolve(change, at, actor, auto=False)
        return True
    if state.status == Status.CLOSED:
        return False
    event = change.event(
        EventType.INCIDENT_UPDATE,
        at,
        actor,
        incident_id=notice.incident_id,
        update_id=notice.update_id,
        incident_status=notice.incident_status,
        body=notice.body,
        public=True,
    )
    change.notify_customer(
        event,
        "incident_update",
        body=notice.body,
        incident_id=notice.incident_id,
        incident_status=notice.incident_status,
    )
    if state.status in OPEN:
        clocks.public_response(change, at)
    if change.state.status == Status.NEW:
        transitions.set_status(change, Status.OPEN, at, actor)
    return True


def check_link_parent(state: TicketState, link: ParentLink) -> None:
    transitions.check(state, Action.LINK)
    if link.parent_id == state.ticket_id:
        raise InvalidTransition("a ticket cannot be its own parent")
    if state.parent_id == link.parent_id:
        raise InvalidTransition(f"ticket {state.ticket_id} is already a child of {link.parent_id}")


def link_parent(change: Change, link: ParentLink, at: datetime) -> None:
    check_link_parent(change.state, link)
    previous = change.state.parent_id
    change.update(parent_id=link.parent_id)
    change.event(
        EventType.PARENT_LINKED,
        at,
        agent_actor(link.actor),
        parent_id=link.parent_id,
        previous_parent_id=previous,
    )
