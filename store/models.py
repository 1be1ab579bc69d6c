"""Tables of the store: a projection of the ticket workflows, written by activities.

Invariant: rows are only ever written from workflow state (through the
projection activities) or by intake bookkeeping (ticket numbers, idempotency
keys). A ticket row never moves backwards: it is replaced only by a snapshot
with a higher `last_seq`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.approval_models import ApprovalRow, LedgerEntry
from store.base import Base, BigIntId, Document, UtcDateTime
from store.incident_models import IncidentEventRow, IncidentNumber, IncidentRow, TicketKeyword
from store.webhook_models import WebhookAttempt, WebhookDelivery, WebhookSubscription

__all__ = [
    "ApprovalRow",
    "Base",
    "BigIntId",
    "Document",
    "IncidentEventRow",
    "IncidentNumber",
    "IncidentRow",
    "LedgerEntry",
    "TicketKeyword",
    "UtcDateTime",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
]


class TicketNumber(Base):
    """One row per allocated ticket number: the id sequence shared by every API replica."""

    __tablename__ = "ticket_numbers"

    id: Mapped[int] = mapped_column(BigIntId, Identity(), primary_key=True, autoincrement=True)
    allocated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class IdempotencyKey(Base):
    """A create request's `Idempotency-Key`, the hash of its body, and the ticket it made."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Assignment(Base):
    """Every assignment made by routing, written at intake: the round-robin's memory.

    Written in the intake transaction (not by the projection), so tickets created
    in quick succession see each other's assignments.
    """

    __tablename__ = "assignments"

    ticket_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(50), index=True)
    team: Mapped[str] = mapped_column(String(50))
    assigned_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Ticket(Base):
    """The latest projected snapshot of a ticket: its facts (written once, at intake) and the
    columns its decisions change (written by the projection, newer `last_seq` only)."""

    __tablename__ = "tickets"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    subject: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(50))
    team: Mapped[str | None] = mapped_column(String(50))
    assignee: Mapped[str | None] = mapped_column(String(50))
    plan: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[str | None] = mapped_column(String(100))
    requester_email: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(16))
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    sla_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    next_sla_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sla_policy_id: Mapped[str] = mapped_column(String(100))
    sla_policy_version: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    first_responded_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    first_assignee: Mapped[str | None] = mapped_column(String(50))
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    auto_resolved: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    related_ticket_id: Mapped[str | None] = mapped_column(String(40))
    csat_score: Mapped[int | None] = mapped_column(Integer)
    csat_requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    csat_answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_seq: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, server_default="")
    incident_id: Mapped[str | None] = mapped_column(String(40))
    parent_id: Mapped[str | None] = mapped_column(String(40))
    workflow_gone_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    """Set by queue dispatch when the ticket's workflow no longer exists (an operator
    terminated it): the ticket leaves its team's queue. Never written by the projection."""

    __table_args__ = (
        Index("ix_tickets_status_created", "status", "created_at", "id"),
        Index("ix_tickets_created", "created_at", "id"),
        Index("ix_tickets_assignee", "assignee"),
        Index("ix_tickets_team", "team"),
        Index("ix_tickets_incident", "incident_id"),
        Index("ix_tickets_parent", "parent_id"),
    )


class TicketEventRow(Base):
    """A ticket's timeline; `(ticket_id, seq)` makes a retried insert a no-op."""

    __tablename__ = "ticket_events"

    ticket_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(Document)


class SlaEventRow(Base):
    """One SLA clock event (at risk, breached, met) per row: what compliance reports count.

    Keyed by the timeline event it comes from, so a retried projection changes nothing.
    """

    __tablename__ = "sla_events"

    ticket_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    metric: Mapped[str] = mapped_column(String(20))
    cycle: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(20))
    """`at_risk`, `breached` or `met`."""
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    priority: Mapped[str] = mapped_column(String(16))

    __table_args__ = (Index("ix_sla_events_metric_at", "metric", "event", "at"),)


class OutboxStatus(StrEnum):
    """Where one email stands in the outbox (see `OutboxEntry`)."""

    COMMITTING = "committing"
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"


class OutboxEntry(Base):
    """Every email the desk sends, keyed by its deterministic notification key.

    `status` (`OutboxStatus`): `committing` while one attempt, holding `claim_token`, is past
    the point of no return (SMTP DATA); then `sent`, `retry` (that attempt knows it did not
    deliver) or `failed` (a permanent refusal). Only a missing row or a `retry` row can be
    claimed, in one compare-and-set statement, so no two attempts ever both reach DATA; a key
    `sent` is never sent again.
    """

    __tablename__ = "outbox"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(40), index=True)
    template: Mapped[str] = mapped_column(String(60))
    recipient: Mapped[str] = mapped_column(String(254))
    message_id: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    error: Mapped[str | None] = mapped_column(Text)
    claim_token: Mapped[str | None] = mapped_column(String(36))
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class InboundMessage(Base):
    """An inbound email's Message-ID, claimed before the email is acted on: the dedup key.

    `outcome` is `pending` while the first request for the Message-ID is handling it, then
    `created`, `threaded`, `follow_up`, `quarantined`, `rejected` or `ignored`; `ticket_id` is
    the ticket the email landed on (None while pending, and for an email that landed on none),
    so later emails that reference this Message-ID thread to the same ticket; `reason` says why
    an email was not threaded where it claimed to belong (`domain.intake.senders`).
    """

    __tablename__ = "inbound_messages"

    message_id: Mapped[str] = mapped_column(String(998), primary_key=True)
    ticket_id: Mapped[str | None] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CsatResponse(Base):
    """A one-click survey link used: single use, claimed before the score reaches the ticket.

    `survey_id` is `<ticket id>/<seq of the csat_requested event>` (`domain.ticket.survey_links`).
    `outcome` is `pending` while the first request for the link is recording its score, then
    `recorded` (the score is on the ticket) or `refused` (the ticket already had a score, by
    an email reply say); a failure in between releases the claim, so the customer may click
    again."""

    __tablename__ = "csat_responses"

    survey_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(String(40))
    score: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))
    used_at: Mapped[datetime] = mapped_column(UtcDateTime())
