"""Writing the store projection of a ticket: one row, plus its numbered events."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy.exc import DataError, IntegrityError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.enums import EventType
from domain.sla import next_due_at
from domain.ticket import TicketEvent, TicketState
from store import repository
from store.engine import SessionMaker


class ProjectionInput(BaseModel):
    state: TicketState
    events: list[TicketEvent]


def ticket_row(state: TicketState) -> dict[str, Any]:
    """The `tickets` row for a state; `state` keeps the whole document for replays of the view."""
    return {
        "id": state.ticket_id,
        "subject": state.subject,
        "status": state.status.value,
        "priority": state.priority.value,
        "channel": state.channel.value,
        "category": state.category,
        "team": state.team,
        "assignee": state.assignee,
        "plan": state.requester.plan.value,
        "customer_id": state.requester.customer_id,
        "requester_email": state.requester.email,
        "language": state.requester.language,
        "escalation_level": state.escalation_level,
        "sla_breached": state.sla_breached,
        "next_sla_due_at": next_due_at(list(state.clocks.values())),
        "sla_policy_id": state.sla.policy_id,
        "sla_policy_version": state.sla.policy_version,
        "created_at": state.created_at,
        "updated_at": state.updated_at,
        "first_responded_at": state.first_responded_at,
        "first_assignee": state.first_assignee,
        "resolved_at": state.resolved_at,
        "resolved_by": state.resolved_by,
        "auto_resolved": state.auto_resolved,
        "closed_at": state.closed_at,
        "reopen_count": state.reopen_count,
        "related_ticket_id": state.related_ticket_id,
        "csat_score": state.csat_score,
        "csat_requested_at": state.csat_requested_at,
        "csat_answered_at": state.csat_answered_at,
        "last_seq": state.last_seq,
        "state": state.model_dump(mode="json"),
    }


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


STORE_DATA_ERROR = "StoreDataError"
"""The store refused the data itself (too long, a constraint): retrying cannot help."""


class ProjectionActivities:
    def __init__(self, sessions: SessionMaker) -> None:
        self._sessions = sessions

    @activity.defn(name="record_ticket")
    async def record_ticket(self, projection: ProjectionInput) -> None:
        """Idempotent: an older or equal snapshot and already-stored events change nothing.

        A refusal of the data (value too long, constraint violated) is non-retryable
        (`StoreDataError`); anything else (the store unreachable, a lock timeout) is
        transient and left to the retry policy."""
        try:
            await self._record(projection)
        except (DataError, IntegrityError) as err:
            raise ApplicationError(
                f"the store refused the data of {projection.state.ticket_id}: "
                f"{type(err.orig).__name__}: {str(err.orig).strip().splitlines()[0]}",
                type=STORE_DATA_ERROR,
                non_retryable=True,
            ) from err

    async def _record(self, projection: ProjectionInput) -> None:
        async with self._sessions.begin() as session:
            await repository.upsert_ticket(session, values=ticket_row(projection.state))
            await repository.insert_events(
                session, events=[event_row(e) for e in projection.events]
            )
            priority = projection.state.priority.value
            sla_rows = [sla_event_row(e, priority) for e in projection.events]
            await repository.insert_sla_events(
                session, rows=[row for row in sla_rows if row is not None]
            )
