"""An incident as its workflow holds it: state, numbered events, terms and broadcasts.

Invariant: `IncidentState` is owned by the incident's workflow; the store's rows and the
API's responses are derived from it. The terms (`IncidentTerms`) are resolved from the
policy by the API at declaration and never re-read: an incident keeps the policy it was
declared under, like a ticket.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class IncidentStatus(StrEnum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


OPEN_STATUSES = (IncidentStatus.INVESTIGATING, IncidentStatus.IDENTIFIED, IncidentStatus.MONITORING)


class ClockName(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    FIRST_NOTICE = "first_notice"
    UPDATE = "update"
    REPORT = "report"


class IncidentEventType(StrEnum):
    DECLARED = "declared"
    ACKNOWLEDGED = "acknowledged"
    STATUS_CHANGED = "status_changed"
    TICKETS_LINKED = "tickets_linked"
    TICKET_UNLINKED = "ticket_unlinked"
    UPDATE_POSTED = "update_posted"
    UPDATE_PENDING = "update_pending_approval"
    UPDATE_APPROVED = "update_approved"
    BROADCAST_DONE = "broadcast_done"
    RESOLVED = "resolved"
    REPORT_SUBMITTED = "report_submitted"
    CLOCK_AT_RISK = "clock_at_risk"
    CLOCK_BREACHED = "clock_breached"
    CLOCK_MET = "clock_met"
    ESCALATED = "escalated"


class EscalationTarget(BaseModel):
    """A ladder level resolved from the policy: its number, name and who is alerted."""

    model_config = ConfigDict(frozen=True)

    level: int
    name: str
    recipients: list[str] = []


class IncidentTerms(BaseModel):
    """The policy's `incidents:` block as it applies to this incident, in seconds."""

    model_config = ConfigDict(frozen=True)

    acknowledge: int
    first_notice: int
    update_every: int | None
    """None: this severity has no update cadence."""
    report_due: int
    at_risk_percent: int = 80
    at_risk: EscalationTarget | None = None
    breach: EscalationTarget | None = None
    approval_required: bool = False
    broadcast_batch: int = 100
    policy_version: str = ""


class IncidentClock(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: ClockName
    cycle: int = 1
    started_at: datetime
    due_at: datetime
    at_risk_at: datetime
    state: Literal["running", "met", "breached", "cancelled"] = "running"
    at_risk_fired: bool = False
    met_at: datetime | None = None
    breached_at: datetime | None = None

    @property
    def live(self) -> bool:
        """Still to be met (running, or breached and not met yet)."""
        return self.state in ("running", "breached")


class IncidentEvent(BaseModel):
    """One numbered entry of the incident's timeline; `(incident_id, seq)` is unique."""

    model_config = ConfigDict(frozen=True)

    incident_id: str
    seq: int
    type: IncidentEventType
    at: datetime
    actor: str
    data: dict[str, Any] = {}


class PostedUpdate(BaseModel):
    """A message of the incident: public ones are broadcast to every linked requester."""

    model_config = ConfigDict(frozen=True)

    number: int
    update_id: str
    """`<incident>/u<number>`: the key each linked ticket applies it once by."""
    body: str
    status: IncidentStatus | None = None
    public: bool = True
    author: str
    at: datetime
    state: Literal["pending_approval", "sent", "internal"] = "sent"
    approved_by: str | None = None


class Broadcast(BaseModel):
    """One fan-out to the linked tickets: an update or the resolution. `ticket_ids` is the
    recipients as of the moment it was posted; `done` counts those already delivered."""

    update_id: str
    kind: Literal["update", "resolve"]
    body: str
    incident_status: IncidentStatus
    ticket_ids: list[str]
    done: int = 0


class IncidentState(BaseModel):
    incident_id: str
    title: str
    severity: str
    component: str
    status: IncidentStatus = IncidentStatus.INVESTIGATING
    commander: str | None = None
    declared_by: str
    created_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None
    report_submitted_at: datetime | None = None
    report: str | None = None
    escalation_level: int = 0
    escalation_name: str | None = None
    terms: IncidentTerms
    clocks: dict[ClockName, IncidentClock] = {}
    linked: dict[str, str] = {}
    """Linked ticket id -> its status as the incident last saw it."""
    updates: list[PostedUpdate] = []
    broadcasts: list[Broadcast] = []
    """Fan-outs not yet delivered to every recipient, oldest first."""
    delivered: int = 0
    """Ticket deliveries made by every finished broadcast (an update to N tickets is N)."""
    last_seq: int = 0
    recent_events: list[str] = []

    @property
    def open(self) -> bool:
        return self.status != IncidentStatus.RESOLVED

    def counts_by_status(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for status in self.linked.values():
            counts[status] = counts.get(status, 0) + 1
        return dict(sorted(counts.items()))


class IncidentRowData(BaseModel):
    """The `incidents` row of a state (typed, so its times travel as times); data, so the
    projection activity and the workflow share the class."""

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
    updated_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    resolution: str | None
    report_submitted_at: datetime | None
    last_seq: int


class IncidentStarted(BaseModel):
    """Input of `IncidentWorkflow`: what the API decided at declaration."""

    incident_id: str
    title: str = Field(max_length=200)
    severity: str
    component: str
    commander: str | None
    declared_by: str
    created_at: datetime
    terms: IncidentTerms
    mail_domain: str = "ticketflow.local"


class IncidentWorkflowInput(BaseModel):
    started: IncidentStarted
    carried: IncidentState | None = None
    unrecorded: list[IncidentEvent] = []
