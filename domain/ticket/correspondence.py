"""What a ticket snapshots at intake about writing to its customer: which emails are off,
which status changes send one, when the survey goes and how long its links last, and the
words that ask for a manager. Defaults are the behaviour of tickets started before these
settings existed, so their histories replay unchanged."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.enums import Status

SURVEY_LINK_TTL = 7 * 86400
"""Seconds a survey's links are valid, and the closed ticket waits for an answer, by default."""


class MailSnapshot(BaseModel):
    model_config = ConfigDict(frozen=True)

    disabled: list[str] = []
    """Customer email templates that are never sent."""
    status_changes: list[Status] = []
    """Entering one of these sends the customer a `status_change` email."""
    survey_after: Literal["resolved", "closed"] = "closed"
    link_ttl: int = SURVEY_LINK_TTL
    escalation_words: list[str] | None = None
    """Lower-case words that, anywhere in a customer's reply, ask for escalation; None: the
    built-in en/ms/mk words (`domain.ticket.escalation.ESCALATION_REQUEST_WORDS`)."""

    def sends(self, template: str) -> bool:
        return template not in self.disabled
