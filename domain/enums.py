"""The desk's shared vocabulary: string enums and id shapes used by API, workflow, activities
and store."""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

# Priorities, plans and channels are the policy's vocabulary (`domain.policy.vocabulary`):
# string ids, checked against the loaded policy at the edge (API, policy file). Here is only
# their shape, so that any id fits every column and search attribute that holds one.
VOCABULARY_ID_PATTERN = r"^[A-Za-z0-9_-]{1,16}$"
MAX_VOCABULARY_ID_CHARS = 16
_ID = StringConstraints(pattern=VOCABULARY_ID_PATTERN, max_length=MAX_VOCABULARY_ID_CHARS)
# `x-vocabulary` names the policy list an id comes from: the API's OpenAPI description lists
# the loaded policy's ids there (`api.openapi`).
PriorityId = Annotated[str, _ID, Field(json_schema_extra={"x-vocabulary": "priorities"})]
"""A priority id of the policy's `priorities` (default P1-P4; a pack may add P0)."""
PlanId = Annotated[str, _ID, Field(json_schema_extra={"x-vocabulary": "plans"})]
"""A plan id of the policy's `plans` (default starter, professional, enterprise)."""
ChannelId = Annotated[str, _ID, Field(json_schema_extra={"x-vocabulary": "channels"})]
"""A channel id of the policy's `channels` (default email, chat, phone, portal, api)."""


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


CountryCode = Annotated[
    str, BeforeValidator(_upper), StringConstraints(pattern=r"^[A-Z]{2}$", max_length=2)
]
"""An ISO 3166-1 alpha-2 country code, upper case ("GB", "US", "MK")."""

MAX_LANGUAGE_CHARS = 16
_LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")


def _language(value: str) -> str:
    if not _LANGUAGE_RE.match(value):
        raise ValueError("must be a language tag such as 'en' or 'ms'")
    return value


LanguageTag = Annotated[str, Field(max_length=MAX_LANGUAGE_CHARS), AfterValidator(_language)]
"""A language tag: `en`, `ms`, `es-MX`."""


def in_language(by_language: Mapping[str, str], language: str | None, default: str) -> str:
    """The text for `language`, else for its base language (`es` for `es-MX`), else
    `default`: how the policy's words by language (`labels:`, `names:`) are read."""
    if language:
        for tag in (language, language.split("-")[0]):
            if tag in by_language:
                return by_language[tag]
    return default


class Status(StrEnum):
    NEW = "new"
    OPEN = "open"
    AWAITING_CUSTOMER = "awaiting_customer"
    ON_HOLD = "on_hold"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Metric(StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_UPDATE = "next_update"
    RESOLUTION = "resolution"
    CSAT_FOLLOWUP = "csat_followup"
    """A manager's follow-up owed after a low satisfaction score."""


class ClockState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"
    CANCELLED = "cancelled"


class Role(StrEnum):
    SERVICE = "service"
    AGENT = "agent"
    ADMIN = "admin"
    SUPPORT_MANAGER = "support_manager"
    """An approver (bound to an agent id): refunds and credits past an agent's authority."""
    FINANCE_DIRECTOR = "finance_director"
    """An approver (bound to an agent id): the largest refunds and contract disputes."""


APPROVER_ROLES = (Role.AGENT, Role.SUPPORT_MANAGER, Role.FINANCE_DIRECTOR)
"""The roles that may decide an approval; each token of them is bound to an agent id."""


class EventType(StrEnum):
    CREATED = "created"
    AGENT_REPLY = "agent_reply"
    NOTE = "note"
    INFO_REQUESTED = "info_requested"
    CUSTOMER_REPLY = "customer_reply"
    ASSIGNED = "assigned"
    PRIORITY_CHANGED = "priority_changed"
    ESCALATED = "escalated"
    ON_HOLD = "on_hold"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"
    STATUS_CHANGED = "status_changed"
    REMINDER_SENT = "reminder_sent"
    CSAT_REQUESTED = "csat_requested"
    CSAT_RECEIVED = "csat_received"
    SLA_AT_RISK = "sla_at_risk"
    SLA_BREACHED = "sla_breached"
    SLA_MET = "sla_met"
    SLA_PAUSED = "sla_paused"
    SLA_RESUMED = "sla_resumed"
    NOTIFICATION_FAILED = "notification_failed"
    APPROVAL_REQUESTED = "approval_requested"
    APPROVAL_DECIDED = "approval_decided"
    CREDIT_GRANTED = "credit_granted"
    INCIDENT_LINKED = "incident_linked"
    INCIDENT_UNLINKED = "incident_unlinked"
    INCIDENT_UPDATE = "incident_update"
    PARENT_LINKED = "parent_linked"
