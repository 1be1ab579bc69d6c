"""Tickets as the workflow holds them: the state, its numbered events, and the workflow input.

Invariant: `TicketState` is owned by the ticket's workflow. Everything else
(store rows, API responses) is derived from it; nothing outside the workflow
decides a transition.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from domain.enums import ChannelId, EventType, Metric, PriorityId, Status
from domain.policy.approvals import ApprovalsSpec
from domain.policy.models import LifecycleSpec
from domain.sla.clocks import SlaClock
from domain.sla.terms import SlaSnapshot
from domain.ticket.correspondence import MailSnapshot
from domain.ticket.ladder import EscalationSnapshot
from domain.ticket.notifications import Notification
from domain.ticket.requests import Requester, TicketCreate


class TicketEvent(BaseModel):
    """One numbered entry of a ticket's timeline. `(ticket_id, seq)` is unique and dense."""

    model_config = ConfigDict(frozen=True)

    ticket_id: str
    seq: int
    type: EventType
    at: datetime
    actor: str
    data: dict[str, Any] = {}


class TicketState(BaseModel):
    """The whole state of one ticket, carried across continue-as-new."""

    ticket_id: str
    subject: str
    description: str
    requester: Requester
    channel: ChannelId
    priority: PriorityId
    category: str
    tags: list[str] = []
    team: str | None = None
    assignee: str | None = None
    status: Status = Status.NEW
    escalation_level: int = 0
    created_at: datetime
    updated_at: datetime
    first_responded_at: datetime | None = None
    first_assignee: str | None = None
    awaiting_since: datetime | None = None
    reminder_sent_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    auto_resolved: bool = False
    closed_at: datetime | None = None
    reopen_count: int = 0
    unresolved_steps: int = 0
    """How many "unresolved for too long" escalations have fired."""
    ladder_index: int | None = None
    """Which of the snapshot's ladders the ticket follows (None: `unresolved_after`)."""
    ladder_steps: int = 0
    """How many steps of that ladder were taken (or skipped)."""
    level_changed_at: datetime | None = None
    """When the escalation level last changed (None: never, it is as created)."""
    csat_requested_at: datetime | None = None
    csat_score: int | None = None
    csat_comment: str | None = None
    csat_answered_at: datetime | None = None
    inbound_message_ids: list[str] = []
    """Message-IDs of the customer emails already applied (the latest few hundred)."""
    related_ticket_id: str | None = None
    sla: SlaSnapshot
    escalation: EscalationSnapshot = EscalationSnapshot()
    lifecycle: LifecycleSpec = LifecycleSpec()
    mail: MailSnapshot = MailSnapshot()
    clocks: dict[Metric, SlaClock] = {}
    clock_history: list[SlaClock] = []
    """Finished cycles of every clock (met, breached or cancelled), oldest first."""
    last_seq: int = 0
    recent_events: list[str] = []
    """The last few events as one-line summaries (no personal data), for operators."""
    thread_message_id: str | None = None
    """Message-ID of the acknowledgment: every later email threads under it."""
    notifications_failed: int = 0
    """Emails given up on (refused for good, or not delivered by their deadline)."""
    approvals: ApprovalsSpec | None = None
    """The policy's `approvals:` block as it stood at creation (None: tickets from before)."""
    approval_count: int = 0
    """Approvals ever requested on this ticket: the next one is `-R<count + 1>`."""
    approvals_pending: list[str] = []
    held_for_approval: bool = False
    """The ticket went on hold for a pending approval (and reopens once none is pending)."""
    credits_granted: list[str] = []
    """What already earned an automatic credit (`breach:<metric>`, `csat`): once each."""
    incident_id: str | None = None
    """The major incident this ticket is linked to: its public updates reach the customer."""
    incident_updates: list[str] = []
    """Ids of the incident updates already applied (the latest few hundred): each once."""
    parent_id: str | None = None
    """The ticket this one is a child of: the parent is not resolved while this is open."""

    @property
    def sla_breached(self) -> bool:
        """Any clock of any cycle breached: what operators filter on."""
        clocks = [*self.clocks.values(), *self.clock_history]
        return any(clock.breached_at is not None for clock in clocks)


class TicketStarted(BaseModel):
    """Input of `TicketWorkflow`: what the API decided at intake, frozen for the ticket's life."""

    ticket_id: str
    request: TicketCreate
    created_at: datetime
    priority: PriorityId
    category: str
    team: str | None
    assignee: str | None = None
    """Chosen by routing at intake; None leaves the ticket in the team's queue."""
    sla: SlaSnapshot
    lifecycle: LifecycleSpec = LifecycleSpec()
    escalation: EscalationSnapshot = EscalationSnapshot()
    mail: MailSnapshot = MailSnapshot()
    related_ticket_id: str | None = None
    """The closed ticket this one follows up, if any."""
    mail_domain: str = "ticketflow.local"
    approvals: ApprovalsSpec | None = None
    """The policy's approvals and automatic credits, snapshotted like the SLA."""
    acknowledge: bool = True
    """False for a ticket no email may answer by itself (a quarantined email): no
    acknowledgment. Defaults to the behaviour of every ticket started before it existed."""


class TicketWorkflowInput(BaseModel):
    """The input of `TicketWorkflow` (defined here, outside the sandboxed module, so a new
    workflow run does not rebuild the model class)."""

    started: TicketStarted
    carried: TicketState | None = None
    """Set when continuing as new: the state to resume from."""
    unrecorded: list[TicketEvent] = []
    """Events not yet in the store when the previous run continued as new."""
    unsent: list[Notification] = []
    """Emails not yet sent (or in flight) when the previous run continued as new."""
    undispatched: list[str] = []
    """Teams whose queue the previous run still had to move."""
    recorded_seq: int = 0
    """Events up to this seq are in the store already, with the ticket's row: intake writes
    the row and the `created` event in the transaction that allocates the number."""
