"""Rows of the store projection, built from a ticket's state: pure (no SQL, no I/O), so the
workflow (to diff what changed), the projection activity and intake share them.

A ticket's row holds its facts (written once, at intake) and the columns its decisions
change; every recording after the first carries only the changed ones.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from domain.enums import EventType
from domain.sla.clocks import next_due_at
from domain.ticket.state import TicketEvent, TicketState


class TicketFacts(BaseModel):
    """What a ticket's row is created with and what never changes: written once, by intake
    (or by the first projection of a ticket started without it)."""

    subject: str
    description: str
    channel: str
    category: str
    plan: str
    customer_id: str | None
    requester_email: str
    language: str
    created_at: datetime
    related_ticket_id: str | None


class TicketChanges(BaseModel):
    """The columns a ticket's decisions change. A projection carries only those that changed
    since the last one recorded (the keys present), so no payload repeats the ticket."""

    status: str | None = None
    priority: str | None = None
    team: str | None = None
    assignee: str | None = None
    escalation_level: int | None = None
    sla_breached: bool | None = None
    next_sla_due_at: datetime | None = None
    sla_policy_id: str | None = None
    sla_policy_version: str | None = None
    updated_at: datetime | None = None
    first_responded_at: datetime | None = None
    first_assignee: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    auto_resolved: bool | None = None
    closed_at: datetime | None = None
    reopen_count: int | None = None
    csat_score: int | None = None
    csat_requested_at: datetime | None = None
    csat_answered_at: datetime | None = None
    incident_id: str | None = None
    parent_id: str | None = None
    last_seq: int | None = None


class ProjectionInput(BaseModel):
    """One recording: events in `seq` order and what the ticket's row gained since the last."""

    ticket_id: str
    priority: str
    """The ticket's priority now, for the SLA event rows."""
    changes: dict[str, Any]
    """`TicketChanges` columns that changed, by name (a key present with None clears it)."""
    facts: TicketFacts | None = None
    """Set when the row does not exist yet (the events start at the `created` one)."""
    events: list[TicketEvent]


def ticket_facts(state: TicketState) -> TicketFacts:
    return TicketFacts(
        subject=state.subject,
        description=state.description,
        channel=state.channel,
        category=state.category,
        plan=state.requester.plan,
        customer_id=state.requester.customer_id,
        requester_email=state.requester.email,
        language=state.requester.language,
        created_at=state.created_at,
        related_ticket_id=state.related_ticket_id,
    )


def ticket_changes(state: TicketState) -> dict[str, Any]:
    """Every `TicketChanges` column for `state` (the workflow diffs two of these)."""
    return {
        "status": state.status.value,
        "priority": state.priority,
        "team": state.team,
        "assignee": state.assignee,
        "escalation_level": state.escalation_level,
        "sla_breached": state.sla_breached,
        "next_sla_due_at": next_due_at(list(state.clocks.values())),
        "sla_policy_id": state.sla.policy_id,
        "sla_policy_version": state.sla.policy_version,
        "updated_at": state.updated_at,
        "first_responded_at": state.first_responded_at,
        "first_assignee": state.first_assignee,
        "resolved_at": state.resolved_at,
        "resolved_by": state.resolved_by,
        "auto_resolved": state.auto_resolved,
        "closed_at": state.closed_at,
        "reopen_count": state.reopen_count,
        "csat_score": state.csat_score,
        "csat_requested_at": state.csat_requested_at,
        "csat_answered_at": state.csat_answered_at,
        "incident_id": state.incident_id,
        "parent_id": state.parent_id,
        "last_seq": state.last_seq,
    }


def ticket_row(state: TicketState) -> dict[str, Any]:
    """The whole `tickets` row for a state: what intake writes with the `created` event."""
    return {"id": state.ticket_id, **dict(ticket_facts(state)), **ticket_changes(state)}


_SLA_EVENTS = {
    EventType.SLA_AT_RISK: "at_risk",
    EventType.SLA_BREACHED: "breached",
    EventType.SLA_MET: "met",
}


def sla_event_row(event: TicketEvent, priority: str) -> dict[str, Any] | None:
    """The `sla_events` row of an SLA timeline event (None for any other event)."""
    kind = _SLA_EVENTS.get(event.type)
    if kind is None:
        return None
    return {
        "ticket_id": event.ticket_id,
        "seq": event.seq,
        "metric": event.data["metric"],
        "cycle": event.data["cycle"],
        "event": kind,
        "at": event.at,
        "priority": priority,
    }


def event_row(event: TicketEvent) -> dict[str, Any]:
    return {
        "ticket_id": event.ticket_id,
        "seq": event.seq,
        "type": event.type.value,
        "at": event.at,
        "actor": event.actor,
        "data": event.data,
    }
