"""The customer-facing parts of the support policy file: the desk's brand, which customer
emails go, the satisfaction survey, and the per-language rules for reading customer mail.

Each key is optional; left out, the desk behaves as before these keys existed (no brand
lines, every email on, the survey 24 h after closing, today's en/ms/mk words and patterns).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from domain.enums import Status
from domain.policy.models import PolicyModel
from domain.sla.durations import Duration, PositiveDuration

CUSTOMER_TEMPLATES = (
    "acknowledgment",
    "agent_reply",
    "request_info",
    "awaiting_reminder",
    "resolution",
    "auto_close_notice",
    "escalation_notice",
    "sla_breach_apology",
    "csat_survey",
    "low_csat_followup",
    "status_change",
)
"""The emails a customer receives; each can be switched off (`emails.disabled`)."""

DEFAULT_ESCALATION_WORDS: dict[str, list[str]] = {
    "en": ["escalate", "escalation", "manager", "supervisor"],
    "ms": ["pengurus", "eskalasi"],
    "mk": ["менаџер", "ескалација"],
}
"""What a customer writes when they want a manager: today's words, per language."""

DEFAULT_REPLY_HEADERS: dict[str, list[str]] = {
    "en": [r"^On\s.*\swrote\s*:\s*$"],
    "ms": [r"^Pada\s.*\smenulis\s*:\s*$"],
    "mk": [r"^На\s.*\sнапиша\s*:\s*$"],  # noqa: RUF001 (Cyrillic on purpose)
    "de": [r"^Am\s.*\sschrieb\s.*\s*:\s*$"],
    "fr": [r"^Le\s.*\sa écrit\s*:\s*$"],
    "es": [r"^El\s.*\sescribió\s*:\s*$"],
    "nl": [r"^Op\s.*\sschreef\s*:\s*$"],
    "pt": [r"^Em\s.*\sescreveu\s*:\s*$"],
}
"""The "On <date>, <name> wrote:" line mail clients put above the quoted history, per
language: today's patterns (the quote stripper recognised them all, whatever the ticket's
language)."""


class BrandSpec(PolicyModel):
    """How the desk signs its emails. Every field optional: templates fall back to neutral
    wording ("The support team")."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    signature: str | None = Field(default=None, min_length=1, max_length=200)
    support_address: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$")
    manager_name: str | None = Field(default=None, min_length=1, max_length=100)
    """Signs the low-satisfaction follow-up."""


class EmailsSpec(PolicyModel):
    """Customer emails switched off, and status changes that send a `status_change` email."""

    disabled: list[str] = Field(default_factory=list)
    status_changes: list[Status] = Field(default_factory=list)

    @field_validator("disabled")
    @classmethod
    def _known_templates(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in CUSTOMER_TEMPLATES]
        if unknown:
            known = ", ".join(CUSTOMER_TEMPLATES)
            raise ValueError(f"unknown customer email {unknown[0]!r}: expected one of {known}")
        return list(dict.fromkeys(value))

    @field_validator("status_changes")
    @classmethod
    def _not_new(cls, value: list[Status]) -> list[Status]:
        if Status.NEW in value:
            raise ValueError("a ticket never enters 'new' by a change of status")
        return list(dict.fromkeys(value))


class CsatSpec(PolicyModel):
    """The satisfaction survey: after resolving or after closing, how long after, and how long
    its one-click links stay valid (the ticket's workflow waits that long for an answer)."""

    send_after: Literal["resolved", "closed"] = "closed"
    delay: Duration | None = None
    """None: `lifecycle.csat_survey_after` (the older name of this key, 24 h by default)."""
    link_ttl: PositiveDuration = 7 * 86400


class LanguageRule(PolicyModel):
    """How customer mail in one language is read: the words that ask for a manager (found
    anywhere in a reply, case-insensitive) and the reply-header lines (regular expressions
    matched against one line, or a line joined with the next when a client wrapped it)
    where the quoted history starts."""

    escalation_words: list[str] = Field(default_factory=list)
    reply_headers: list[str] = Field(default_factory=list)

    @field_validator("escalation_words")
    @classmethod
    def _no_blank_words(cls, value: list[str]) -> list[str]:
        if not all(word.strip() for word in value):
            raise ValueError("escalation words must not be blank")
        return [word.strip().lower() for word in value]

    @field_validator("reply_headers")
    @classmethod
    def _compiles(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as err:
                raise ValueError(f"invalid regular expression {pattern!r}: {err}") from None
        return value


def default_language_rules() -> dict[str, LanguageRule]:
    languages = dict.fromkeys([*DEFAULT_ESCALATION_WORDS, *DEFAULT_REPLY_HEADERS])
    return {
        language: LanguageRule(
            escalation_words=DEFAULT_ESCALATION_WORDS.get(language, []),
            reply_headers=DEFAULT_REPLY_HEADERS.get(language, []),
        )
        for language in languages
    }


def merged_language_rules(configured: dict[str, LanguageRule]) -> dict[str, LanguageRule]:
    """Today's rules, with each configured language replacing the defaults of that language."""
    return {**default_language_rules(), **configured}
