"""Emails the workflow asks for, each with a deterministic key that makes it send-once."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class Notification(BaseModel):
    """One email to one recipient, fully decided by the workflow.

    `key` = ticket, event seq, template and recipient: the same notification
    asked for again (activity retry, workflow replay) has the same key, so the
    outbox sends it once.
    """

    model_config = ConfigDict(frozen=True)

    key: str
    ticket_id: str
    seq: int
    template: str
    language: str
    recipient: str
    recipient_name: str | None = None
    message_id: str
    in_reply_to: str | None = None
    references: list[str] = []
    context: dict[str, Any] = {}
    send_by: datetime | None = None
    """Set by the workflow when it first asks for the email: after this instant it stops
    trying and records the notification as failed (kept across continue-as-new)."""


class EmailBatch(BaseModel):
    """The emails one decision asked for, sent by one activity."""

    notifications: list[Notification]


class SendStatus(StrEnum):
    """What one send attempt found (the outbox row's own statuses: `store.models`)."""

    SENT = "sent"
    ALREADY_SENT = "already_sent"
    """An earlier attempt (or another workflow run) sent it: the outbox says so."""
    FAILED = "failed"
    """A permanent refusal, recorded, never retried."""


class SendResult(BaseModel):
    key: str
    status: SendStatus
    error: str | None = None


def notification_key(ticket_id: str, seq: int, template: str, recipient: str) -> str:
    return f"{ticket_id}/{seq}/{template}/{recipient.lower()}"


def message_id(ticket_id: str, seq: int, template: str, domain: str) -> str:
    """An RFC 5322 Message-ID derived from the notification, stable across retries."""
    return f"<{ticket_id}.{seq}.{template}@{domain}>"
