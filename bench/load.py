"""Driving load: batches of operations at a fixed concurrency, and the API as a client sees it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import httpx

from bench.stats import Series
from ticketflow.dev import DEV_TOKENS


class BenchError(Exception):
    """The system under test answered wrongly; the message says what and where."""


def dev_token(role: str, agent_id: str | None = None) -> str:
    """The token of `ticketflow dev` (DEV_TOKENS) with this role (and agent)."""
    for entry in DEV_TOKENS.split(","):
        token, _, rest = entry.partition(":")
        entry_role, _, entry_agent = rest.partition(":")
        if entry_role == role and (agent_id is None or entry_agent == agent_id):
            return token
    raise LookupError(f"no dev token with role {role!r} and agent {agent_id!r}")


async def run_batch(
    name: str,
    count: int,
    concurrency: int,
    operation: Callable[[int], Awaitable[object]],
) -> Series:
    """Run `operation(0..count-1)` with at most `concurrency` in flight; time each and the batch."""
    series = Series(name=name, concurrency=max(1, min(concurrency, count)))
    latencies = [0.0] * count
    indexes = iter(range(count))  # shared by the lanes: each index is taken once

    async def lane() -> None:
        for index in indexes:
            started = time.perf_counter()
            await operation(index)
            latencies[index] = time.perf_counter() - started

    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(series.concurrency):
            group.create_task(lane())
    series.elapsed = time.perf_counter() - started
    series.latencies = latencies
    return series


def ticket_body(index: int, run_id: str) -> dict[str, Any]:
    """A create request; the requester's address is unique per ticket."""
    return {
        "requester": {
            "email": f"bench-{run_id}-{index}@example.com",
            "name": f"Bench Customer {index}",
            "plan": ("starter", "professional", "enterprise")[index % 3],
        },
        "subject": f"Bench ticket {index}: cannot download my invoice",
        "description": "The invoice page shows an error since this morning.",
        "channel": "api",
        "priority": ("P2", "P3", "P4")[index % 3],
    }


class Api:
    """The ticketflow API over HTTP/1.1 keep-alive, with the dev service and agent tokens."""

    def __init__(self, base_url: str, *, connections: int) -> None:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.http = httpx.AsyncClient(
            base_url=base_url, limits=limits, timeout=120.0, trust_env=False
        )
        self.service = {"Authorization": f"Bearer {dev_token('service')}"}
        self.agent = {"Authorization": f"Bearer {dev_token('agent', 'alice')}"}

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.http.aclose()

    @staticmethod
    def _expect(response: httpx.Response, status: int) -> dict[str, Any]:
        if response.status_code != status:
            raise BenchError(
                f"{response.request.method} {response.request.url.path}: "
                f"{response.status_code}, expected {status}: {response.text[:300]}"
            )
        body: dict[str, Any] = response.json()
        return body

    async def create_ticket(self, index: int, run_id: str, description: str | None = None) -> str:
        """POST /v1/tickets; the new ticket's id."""
        body = ticket_body(index, run_id)
        if description is not None:
            body["description"] = description
        response = await self.http.post("/v1/tickets", json=body, headers=self.service)
        return str(self._expect(response, 201)["id"])

    async def act(self, ticket_id: str, action: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST /v1/tickets/{id}/{action} as agent alice; the ticket it returns."""
        response = await self.http.post(
            f"/v1/tickets/{ticket_id}/{action}", json=body, headers=self.agent
        )
        return self._expect(response, 200)

    async def reply(self, ticket_id: str, body: str) -> None:
        """POST /v1/tickets/{id}/reply as agent alice."""
        response = await self.http.post(
            f"/v1/tickets/{ticket_id}/reply", json={"body": body}, headers=self.agent
        )
        self._expect(response, 200)
