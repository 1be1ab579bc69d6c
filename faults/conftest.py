"""Fixtures of the fault suite: a stack per case, the throwaway PostgreSQL cluster."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from faults.policy import write_fault_policy
from faults.postgres import ThrowawayCluster
from faults.stack import FaultStack
from faults.support import free_port, say

MakeStack = Callable[..., Awaitable[FaultStack]]


def pytest_unconfigure(config: pytest.Config) -> None:
    # temporalio can crash at interpreter exit (sdk-python #300): leave with the real status.
    status = getattr(config, "_ticketflow_exitstatus", None)
    if status is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(int(status))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config._ticketflow_exitstatus = exitstatus  # type: ignore[attr-defined]


@pytest.fixture
async def stacks(tmp_path: Path) -> AsyncIterator[MakeStack]:
    """Starts stacks on request (`await stacks(first_response_seconds=60)`); stops them all."""
    made: list[FaultStack] = []

    async def make(
        *, first_response_seconds: int = 60, database_url: str | None = None
    ) -> FaultStack:
        directory = tmp_path / f"stack-{len(made) + 1}"
        directory.mkdir()
        policy = write_fault_policy(directory, first_response_seconds=first_response_seconds)
        stack = FaultStack(directory, policy_file=policy, database_url=database_url)
        made.append(stack)
        await stack.start()
        return stack

    try:
        yield make
    finally:
        for stack in reversed(made):
            await stack.close()
            say(f"stopped the stack in {stack.directory}")


@pytest.fixture
def pg_cluster() -> Iterator[ThrowawayCluster]:
    """A PostgreSQL cluster of our own, dropped afterwards whatever happened."""
    cluster = ThrowawayCluster(free_port())
    say(f"creating PostgreSQL cluster {cluster.name} on port {cluster.port}")
    try:
        cluster.create()
        yield cluster
    finally:
        cluster.drop()
        say(f"dropped PostgreSQL cluster {cluster.name}")
