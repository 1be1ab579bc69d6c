"""Inputs of the agent and customer actions (Temporal Update arguments).

The actor is always set by the API from the caller's token, never from a body.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class AgentReply(BaseModel):
    model_config = ConfigDict(frozen=True)

    actor: str
    """The agent id bound to the caller's token."""
    body: str
    agent_name: str | None = None
