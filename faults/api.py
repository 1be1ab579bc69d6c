"""The ticketflow API as the backend and an agent call it, with the stack's dev tokens."""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Any

import httpx

from ticketflow.dev import DEV_TOKENS


def token(role: str, agent_id: str | None = None) -> str:
    for entry in DEV_TOKENS.split(","):
        value, _, rest = entry.partition(":")
        entry_role, _, entry_agent = rest.partition(":")
        if entry_role == role and (agent_id is None or entry_agent == agent_id):
            return value
    raise LookupError(f"no dev token with role {role!r}")


def ticket_body(case: str, index: int, priority: str) -> dict[str, Any]:
    """A create request; the requester's address is unique per ticket."""
    return {
        "requester": {
            "email": f"faults-{case}-{index}@example.com",
            "name": f"Fault Customer {index}",
            "plan": "starter",
        },
        "subject": f"Fault case {case} ticket {index}: cannot export my reports",
        "description": "The export button does nothing since this morning.",
        "channel": "api",
        "priority": priority,
    }


def error_shape_ok(response: httpx.Response) -> bool:
    """`{"error": {"code": str, "message": str}}` and nothing else at the top."""
    try:
        body = response.json()
    except ValueError:
        return False
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(body["error"], dict):
        return False
    error = body["error"]
    return isinstance(error.get("code"), str) and isinstance(error.get("message"), str)


def first_response_due(ticket: dict[str, Any]) -> float:
    """The first-response due time of a ticket as the API returned it (epoch seconds)."""
    due = ticket["sla"]["first_response"]["due_at"]
    return datetime.fromisoformat(str(due).replace("Z", "+00:00")).timestamp()


class Api:
    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=timeout, trust_env=False)
        self.service = {"Authorization": f"Bearer {token('service')}"}
        self.agent = {"Authorization": f"Bearer {token('agent', 'alice')}"}

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.http.aclose()

    async def create(self, case: str, index: int, priority: str) -> httpx.Response:
        return await self.http.post(
            "/v1/tickets", json=ticket_body(case, index, priority), headers=self.service
        )

    async def reply(self, ticket_id: str, body: str) -> httpx.Response:
        return await self.http.post(
            f"/v1/tickets/{ticket_id}/reply", json={"body": body}, headers=self.agent
        )
