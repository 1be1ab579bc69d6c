"""HTTP shapes of `/v1/incidents` and the parent/child link."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from domain.incident.state import IncidentState, IncidentStatus
from domain.ticket.requests import Body, SingleLine

TicketIdField = Annotated[str, Field(min_length=1, max_length=40)]
MAX_LINK = 1000
"""Tickets one link request names at most (link more with more requests)."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IncidentCreate(_Body):
    title: Annotated[SingleLine, Field(max_length=200)]
    severity: Annotated[str, Field(min_length=1, max_length=16)]
    """A priority id of the policy (e.g. `P1`, or `P0` where the policy has it)."""
    component: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[\w .:/-]+$")]
    commander: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    ticket_ids: Annotated[list[TicketIdField], Field(max_length=MAX_LINK)] = []
    """Tickets to link at once (optional)."""


class LinkBody(_Body):
    ticket_ids: Annotated[list[TicketIdField], Field(min_length=1, max_length=MAX_LINK)]


class IncidentUpdateBody(_Body):
    body: Body
    status: IncidentStatus | None = None
    """`investigating`, `identified` or `monitoring`; resolving is `/resolve`."""
    public: bool = True


class IncidentResolveBody(_Body):
    resolution: Body


class ReportBody(_Body):
    body: Body


class ParentBody(_Body):
    parent_id: TicketIdField


class ClockOut(BaseModel):
    state: str
    cycle: int
    due_at: datetime
    met_at: datetime | None
    breached_at: datetime | None


class UpdateOut(BaseModel):
    number: int
    update_id: str
    body: str
    status: IncidentStatus | None
    public: bool
    state: str
    author: str
    at: datetime
    approved_by: str | None


class IncidentView(BaseModel):
    id: str
    title: str
    severity: str
    component: str
    status: IncidentStatus
    commander: str | None
    escalation_level: int
    escalation_name: str | None
    created_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    resolution: str | None
    report_submitted_at: datetime | None
    report: str | None
    clocks: dict[str, ClockOut]
    linked_count: int
    linked_by_status: dict[str, int]
    updates: list[UpdateOut]
    broadcasts_in_progress: int

    @classmethod
    def of(cls, state: IncidentState) -> IncidentView:
        return cls(
            id=state.incident_id,
            title=state.title,
            severity=state.severity,
            component=state.component,
            status=state.status,
            commander=state.commander,
            escalation_level=state.escalation_level,
            escalation_name=state.escalation_name,
            created_at=state.created_at,
            acknowledged_at=state.acknowledged_at,
            resolved_at=state.resolved_at,
            resolution=state.resolution,
            report_submitted_at=state.report_submitted_at,
            report=state.report,
            clocks={
                name.value: ClockOut(
                    state=c.state,
                    cycle=c.cycle,
                    due_at=c.due_at,
                    met_at=c.met_at,
                    breached_at=c.breached_at,
                )
                for name, c in state.clocks.items()
            },
            linked_count=len(state.linked),
            linked_by_status=state.counts_by_status(),
            updates=[UpdateOut.model_validate(u, from_attributes=True) for u in state.updates],
            broadcasts_in_progress=len(state.broadcasts),
        )


class IncidentSummary(BaseModel):
    """An incident as the store lists it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    title: str
    severity: str
    component: str
    status: str
    commander: str | None
    escalation_level: int
    linked_count: int
    updates_sent: int
    created_at: datetime
    resolved_at: datetime | None
    report_submitted_at: datetime | None


class IncidentPage(BaseModel):
    items: list[IncidentSummary]
    next_cursor: str | None = None
    """Pass as `cursor` for the next page; absent on the last one."""


class SuggestionOut(BaseModel):
    category: str
    keywords: list[str]
    ticket_ids: list[str]


class Suggestions(BaseModel):
    window_seconds: int
    min_tickets: int
    items: list[SuggestionOut]
