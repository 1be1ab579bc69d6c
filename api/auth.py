"""Bearer tokens: `TICKETFLOW_TOKENS` holds comma-separated `token:role[:agent_id]` entries."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from domain.enums import APPROVER_ROLES, Role

MAX_AGENT_ID_CHARS = 50
"""An agent id is an assignee (`tickets.assignee`, VARCHAR(50)) and, as `agent:<id>`, an
actor (`ticket_events.actor`, `tickets.resolved_by`, VARCHAR(100))."""


@dataclass(frozen=True)
class Principal:
    role: Role
    agent_id: str | None = None

    @property
    def actor(self) -> str:
        return f"agent:{self.agent_id}" if self.agent_id else self.role.value


class TokenConfigError(ValueError):
    pass


def parse_tokens(spec: str | None) -> dict[str, Principal]:
    """Parse the token list; a bad entry fails start-up naming its position, never its secret."""
    tokens: dict[str, Principal] = {}
    for index, raw in enumerate((spec or "").split(","), start=1):
        entry = raw.strip()
        if not entry:
            continue
        parts = entry.split(":")
        if len(parts) not in (2, 3) or not parts[0]:
            raise TokenConfigError(
                f"TICKETFLOW_TOKENS entry {index}: expected token:role[:agent_id]"
            )
        token, role_name = parts[0], parts[1]
        try:
            role = Role(role_name)
        except ValueError:
            raise TokenConfigError(
                f"TICKETFLOW_TOKENS entry {index}: unknown role {role_name!r}"
            ) from None
        agent_id = parts[2] if len(parts) == 3 else None
        if agent_id is not None and not _valid_agent_id(agent_id):
            raise TokenConfigError(
                f"TICKETFLOW_TOKENS entry {index}: an agent id is 1-{MAX_AGENT_ID_CHARS} "
                "printable characters without spaces"
            )
        if role in APPROVER_ROLES and not agent_id:
            raise TokenConfigError(
                f"TICKETFLOW_TOKENS entry {index}: an agent token needs an agent id"
                if role == Role.AGENT
                else f"TICKETFLOW_TOKENS entry {index}: a {role.value} token needs an agent id"
            )
        tokens[token] = Principal(role=role, agent_id=agent_id)
    return tokens


def _valid_agent_id(agent_id: str) -> bool:
    """At most `MAX_AGENT_ID_CHARS`, no spaces or control characters (empty: checked later)."""
    printable = all(ch.isprintable() and not ch.isspace() for ch in agent_id)
    return printable and len(agent_id) <= MAX_AGENT_ID_CHARS


def bearer_token(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header value, else None."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class TokenTable:
    def __init__(self, tokens: dict[str, Principal]) -> None:
        self._tokens = tokens

    def lookup(self, presented: str) -> Principal | None:
        # Constant-time comparison against every token: no timing oracle on prefixes.
        found: Principal | None = None
        for token, principal in self._tokens.items():
            if hmac.compare_digest(token.encode(), presented.encode()):
                found = principal
        return found
