"""What the API returns for a ticket: its state plus live SLA clocks at a given instant."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from domain.enums import ChannelId, Metric, PlanId, PriorityId, Status
from domain.sla.clocks import ClockView, clock_view
from domain.ticket.requests import Requester
from domain.ticket.state import TicketState


class SlaPolicyView(BaseModel):
    policy_id: str
    policy_version: str
    calendar: str
    reason: str


class TicketBrief(BaseModel):
    """The ticket without its description: what an action returns (each one an Update result
    kept in the workflow's history, so it stays small; `GET` has the description)."""

    id: str
    subject: str
    requester: Requester
    channel: ChannelId
    priority: PriorityId
    category: str
    tags: list[str]
    team: str | None
    assignee: str | None
    status: Status
    escalation_level: int
    plan: PlanId
    created_at: datetime
    updated_at: datetime
    first_responded_at: datetime | None
    sla_breached: bool
    sla_policy: SlaPolicyView
    sla: dict[Metric, ClockView]
    last_event_seq: int
    csat_score: int | None = None
    """The customer's satisfaction score (1-5), once they gave one."""
    incident_id: str | None = None
    """The major incident the ticket is linked to, if any."""
    parent_id: str | None = None


class TicketView(TicketBrief):
    """The whole ticket, with its SLA clocks as of the moment it was read."""

    description: str
    approvals_pending: list[str] = []
    """Its refunds, credits and cancellations waiting on a decision (`<ticket>-R<n>`);
    `GET /v1/approvals?ticket_id=` lists every one of them with its state."""


def ticket_brief(state: TicketState, now: datetime) -> TicketBrief:
    """The ticket as an action returns it, its clocks as of `now` (the workflow's time)."""
    return TicketBrief(
        id=state.ticket_id,
        subject=state.subject,
        requester=state.requester,
        channel=state.channel,
        priority=state.priority,
        category=state.category,
        tags=state.tags,
        team=state.team,
        assignee=state.assignee,
        status=state.status,
        escalation_level=state.escalation_level,
        plan=state.requester.plan,
        created_at=state.created_at,
        updated_at=state.updated_at,
        first_responded_at=state.first_responded_at,
        sla_breached=state.sla_breached,
        sla_policy=SlaPolicyView(
            policy_id=state.sla.policy_id,
            policy_version=state.sla.policy_version,
            calendar=state.sla.calendar.id,
            reason=state.sla.reason,
        ),
        sla={metric: clock_view(state.sla, clock, now) for metric, clock in state.clocks.items()},
        incident_id=state.incident_id,
        parent_id=state.parent_id,
        last_event_seq=state.last_seq,
        csat_score=state.csat_score,
    )


def ticket_view(state: TicketState, now: datetime) -> TicketView:
    return TicketView(
        **dict(ticket_brief(state, now)),
        description=state.description,
        approvals_pending=state.approvals_pending,
    )
