"""Tables of major incidents: their numbers, their rows and timelines (a projection of the
incident workflows), and the subject keywords of tickets the suggestions cluster by."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Identity, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, BigIntId, Document, UtcDateTime


class IncidentNumber(Base):
    """One row per allocated incident number (`INC-000001`), like `ticket_numbers`."""

    __tablename__ = "incident_numbers"

    id: Mapped[int] = mapped_column(BigIntId, Identity(), primary_key=True, autoincrement=True)
    allocated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class IncidentRow(Base):
    """The latest projected snapshot of an incident; replaced only by a higher `last_seq`."""

    __tablename__ = "incidents"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(16))
    component: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))
    commander: Mapped[str | None] = mapped_column(String(50))
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    linked_count: Mapped[int] = mapped_column(Integer, default=0)
    updates_sent: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    resolution: Mapped[str | None] = mapped_column(Text)
    report_submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_seq: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_incidents_status_created", "status", "created_at"),)


class IncidentEventRow(Base):
    """An incident's timeline; `(incident_id, seq)` makes a retried insert a no-op."""

    __tablename__ = "incident_events"

    incident_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(Document)


class TicketKeyword(Base):
    """A keyword of a ticket's subject (`domain.incident.keywords`), written with its row:
    what `GET /v1/incidents/suggestions` groups by, in SQL."""

    __tablename__ = "ticket_keywords"

    ticket_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    keyword: Mapped[str] = mapped_column(String(40), primary_key=True)

    __table_args__ = (Index("ix_ticket_keywords_keyword", "keyword"),)
