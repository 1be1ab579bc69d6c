"""HTTP request and response shapes that are not domain models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.enums import PriorityId
from domain.ticket.requests import Body, SingleLine


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AssignBody(_Body):
    """Exactly one of an agent or a team."""

    agent_id: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    team: Annotated[str, Field(min_length=1, max_length=50)] | None = None

    @model_validator(mode="after")
    def _one_target(self) -> AssignBody:
        if (self.agent_id is None) == (self.team is None):
            raise ValueError("give exactly one of agent_id or team")
        return self


class PriorityBody(_Body):
    priority: PriorityId
    reason: SingleLine


class EscalateBody(_Body):
    reason: SingleLine
    # Bounded here only for sanity; the ticket's own ladder decides (409 above its top).
    level: Annotated[int, Field(ge=0, le=99)] | None = None


class ReasonBody(_Body):
    reason: SingleLine


class ResolveBody(_Body):
    resolution: Body
    resolve_children: bool = False
    """Resolve the ticket's open children first, with the same resolution (else a parent
    with an open child is refused, 409, naming them)."""


class CsatBody(_Body):
    score: Annotated[int, Field(ge=1, le=5)]
    comment: Annotated[str, Field(max_length=4000)] | None = None


class EmptyBody(_Body):
    pass


class TicketSummary(BaseModel):
    """A ticket as lists show it: the store's row, without message bodies."""

    id: str
    subject: str
    status: str
    priority: str
    channel: str
    category: str
    team: str | None
    assignee: str | None
    plan: str
    escalation_level: int
    sla_breached: bool
    next_sla_due_at: datetime | None
    created_at: datetime
    updated_at: datetime


class TicketPage(BaseModel):
    items: list[TicketSummary]
    next_cursor: str | None


class EventOut(BaseModel):
    seq: int
    type: str
    at: datetime
    actor: str
    data: dict[str, Any]


class NotificationOut(BaseModel):
    """An email of the ticket, from the outbox: `sent`, `failed`, or still in flight."""

    template: str
    recipient: str
    message_id: str
    status: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    error: str | None


class Timeline(BaseModel):
    ticket_id: str
    items: list[EventOut]
    notifications: list[NotificationOut]


class SlaExplanation(BaseModel):
    policy_id: str
    policy_version: str
    reason: str
    calendar: str
    timezone: str
    targets: dict[str, int | str | None]
    """Seconds of business time, or business days as "3bd"."""
    at_risk_percent: list[int]
    pauses: dict[str, list[str]]
    reopen: str
