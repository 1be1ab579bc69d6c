"""Tickets as the workflow holds them, and the requests that create them.

Invariant: `TicketState` is owned by the ticket's workflow. Everything else
(store rows, API responses) is derived from it; nothing outside the workflow
decides a transition.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from domain.enums import Channel, EventType, Metric, Plan, Priority, Status
from domain.escalation_models import EscalationSnapshot
from domain.notifications import Notification
from domain.policy_models import LifecycleSpec
from domain.sla import SlaClock, SlaSnapshot

# Every string a request carries is bounded here, at the edge, to what the store can hold
# (tests/api/test_input_bounds.py checks each bound against its column in store/models.py).
MAX_SUBJECT_CHARS = 200
MAX_NAME_CHARS = 200
MAX_BODY_BYTES = 64 * 1024
MAX_EMAIL_CHARS = 254
MAX_CUSTOMER_ID_CHARS = 100
MAX_LANGUAGE_CHARS = 16
MAX_TIMEZONE_CHARS = 64
MAX_CATEGORY_CHARS = 50
_EMAIL_RE = re.compile(
    r"^[^@\s<>\"',;:()\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")


def _single_line(value: str) -> str:
    """Refuse any control character: a CR/LF here would reach an email header."""
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValueError("must not contain control characters (such as line breaks)")
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


def _email(value: str) -> str:
    value = value.strip()
    if len(value) > 254 or not _EMAIL_RE.match(value):
        raise ValueError("is not a valid email address")
    return value


def _body(value: str) -> str:
    if len(value.encode()) > MAX_BODY_BYTES:
        raise ValueError(f"must be at most {MAX_BODY_BYTES} bytes")
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _language(value: str) -> str:
    if not _LANGUAGE_RE.match(value):
        raise ValueError("must be a language tag such as 'en' or 'ms'")
    return value


def _timezone(value: str) -> str:
    # Validated against the tz database without importing zoneinfo in the
    # sandbox at call time: zoneinfo reads files, so keep it to API input.
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError("is not a known IANA time zone") from err
    return value


SingleLine = Annotated[str, Field(max_length=MAX_SUBJECT_CHARS), AfterValidator(_single_line)]
ShortName = Annotated[str, Field(max_length=MAX_NAME_CHARS), AfterValidator(_single_line)]
EmailAddress = Annotated[str, Field(max_length=MAX_EMAIL_CHARS), AfterValidator(_email)]
# A character is at least one byte: the character bound shows in the schema, `_body` is exact.
Body = Annotated[str, Field(max_length=MAX_BODY_BYTES), AfterValidator(_body)]
LanguageTag = Annotated[str, Field(max_length=MAX_LANGUAGE_CHARS), AfterValidator(_language)]
TimeZoneName = Annotated[str, Field(max_length=MAX_TIMEZONE_CHARS), AfterValidator(_timezone)]
Tag = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]


class Requester(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    email: EmailAddress
    name: ShortName | None = None
    customer_id: (
        Annotated[str, Field(max_length=MAX_CUSTOMER_ID_CHARS), AfterValidator(_single_line)] | None
    ) = None
    plan: Plan = Plan.STARTER
    language: LanguageTag = "en"
    timezone: TimeZoneName | None = None


class TicketCreate(BaseModel):
    """The body of `POST /v1/tickets`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requester: Requester
    subject: SingleLine
    description: Body
    channel: Channel
    priority: Priority | None = None
    category: (
        Annotated[str, Field(max_length=MAX_CATEGORY_CHARS, pattern=r"^[a-z0-9_-]+$")] | None
    ) = None
    tags: Annotated[list[Tag], Field(max_length=20)] = []


class ActionBody(BaseModel):
    """`{"body"}` of reply, note, request-info and customer-reply."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    body: Body


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
    channel: Channel
    priority: Priority
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
    priority: Priority
    category: str
    team: str | None
    assignee: str | None = None
    """Chosen by routing at intake; None leaves the ticket in the team's queue."""
    sla: SlaSnapshot
    lifecycle: LifecycleSpec = LifecycleSpec()
    escalation: EscalationSnapshot = EscalationSnapshot()
    related_ticket_id: str | None = None
    """The closed ticket this one follows up, if any."""
    mail_domain: str = "ticketflow.local"


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
