"""Inputs of the agent and customer actions (the Temporal Update arguments).

The actor is always set by the API from the caller's token, never from a body.
Everything an action needs from the (editable) policy file is resolved by the
API and passed in, so the workflow never reads configuration.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.enums import PriorityId
from domain.sla.terms import SlaSnapshot


class Action(StrEnum):
    REPLY = "reply"
    NOTE = "note"
    REQUEST_INFO = "request-info"
    ASSIGN = "assign"
    PRIORITY = "priority"
    ESCALATE = "escalate"
    HOLD = "hold"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    CLOSE = "close"
    CUSTOMER_REPLY = "customer-reply"
    CSAT = "csat"
    LINK = "link"


class _Input(BaseModel):
    model_config = ConfigDict(frozen=True)


class AgentReply(_Input):
    actor: str
    """The agent id bound to the caller's token."""
    body: str
    agent_name: str | None = None


class AgentNote(_Input):
    actor: str
    body: str


class RequestInfo(_Input):
    actor: str
    body: str
    agent_name: str | None = None


class Assign(_Input):
    actor: str
    agent_id: str | None = None
    team: str
    """The agent's team when an agent is named, else the team to queue on."""
    only_if_unassigned: bool = False
    """Set by queue dispatch: refuse if someone took the ticket meanwhile."""


class ChangePriority(_Input):
    actor: str
    priority: PriorityId
    reason: str
    sla: SlaSnapshot
    """The SLA policy re-applied for the new priority (chosen by the API from the policy file)."""


class Escalate(_Input):
    actor: str
    reason: str
    level: int | None = Field(default=None, ge=0)
    """None: one level up; at most the ticket's top level (checked by the validator)."""


class Hold(_Input):
    actor: str
    reason: str


class Resolve(_Input):
    actor: str
    resolution: str
    agent_name: str | None = None


class Reopen(_Input):
    actor: str
    reason: str


class Close(_Input):
    actor: str


class Rate(_Input):
    """The customer's satisfaction score after resolution."""

    score: int = Field(ge=1, le=5)
    comment: str | None = None


class CustomerReply(_Input):
    body: str
    message_id: str | None = None
    """The inbound email's Message-ID, when the reply came by email."""
