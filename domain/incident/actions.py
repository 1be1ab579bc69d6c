"""Inputs of the incident's actions (its Temporal Updates) and what a fan-out reports back.

The actor is set by the API from the caller's token, never from a body."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.incident.state import IncidentStatus


class _Input(BaseModel):
    model_config = ConfigDict(frozen=True)


class Acknowledge(_Input):
    actor: str


class LinkTickets(_Input):
    actor: str
    ticket_ids: list[str] = Field(min_length=1)


class UnlinkTicket(_Input):
    actor: str
    ticket_id: str
    reason: str = "unlinked"


class PostUpdate(_Input):
    actor: str
    body: str
    status: IncidentStatus | None = None
    public: bool = True


class ApproveUpdate(_Input):
    actor: str
    number: int


class ResolveIncident(_Input):
    actor: str
    resolution: str


class SubmitReport(_Input):
    actor: str
    body: str


Outcome = Literal["linked", "already", "applied", "skipped", "missing", "refused"]


class TicketOutcome(BaseModel):
    """What one ticket did with a link or a broadcast: `status` is its status afterwards."""

    model_config = ConfigDict(frozen=True)

    ticket_id: str
    outcome: Outcome
    status: str | None = None
    reason: str | None = None


class LinkOutcome(BaseModel):
    """The result of `link_tickets`: each ticket's outcome, and the counts now."""

    incident_id: str
    tickets: list[TicketOutcome]
    linked_count: int
