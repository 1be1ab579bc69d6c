"""Shared fixtures: real Temporal servers, real databases, a real SMTP server."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import text
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from store.engine import SessionMaker, create_engine, create_sessionmaker
from store.migrate import upgrade
from ticketflow.environment import free_port
from ticketflow.search_attributes import register as register_search_attributes
from workflows.search_attributes import ALL_KEYS

BIN = Path(sys.executable).parent
TEST_SERVER = BIN / "temporal-test-server"
DEV_SERVER = BIN / "temporal"


def pytest_unconfigure(config: pytest.Config) -> None:
    # temporalio can crash at interpreter exit (sdk-python #300): leave with the real status.
    status = getattr(config, "_ticketflow_exitstatus", None)
    if status is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(int(status))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config._ticketflow_exitstatus = exitstatus  # type: ignore[attr-defined]


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout: float = 20.0, interval: float = 0.05
) -> None:
    """Wait until `check()` is true; fail after `timeout` seconds. For asynchronous effects."""
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(interval)


# -- Temporal ------------------------------------------------------------------------


@pytest.fixture
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """A fresh time-skipping test server per test: SLA timing without waiting.

    Fresh, because time can only skip while nothing is pending: a workflow left
    behind by an earlier test (its worker gone) would hold the clock still.
    """
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=pydantic_data_converter
    )
    await register_search_attributes(env.client, "default")
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real dev server, with the ticket search attributes registered."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(DEV_SERVER),
        data_converter=pydantic_data_converter,
        search_attributes=ALL_KEYS,
        dev_server_log_level="error",
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4()}"


# -- store ---------------------------------------------------------------------------

TABLES = (
    "incident_events",
    "incidents",
    "incident_numbers",
    "ticket_keywords",
    "webhook_attempts",
    "webhook_deliveries",
    "webhook_subscriptions",
    "inbound_messages",
    "csat_responses",
    "sla_events",
    "ticket_events",
    "tickets",
    "outbox",
    "idempotency_keys",
    "ticket_numbers",
    "assignments",
    "approvals",
    "ledger_entries",
)


def _postgres_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


def _backends() -> list[Any]:
    params: list[Any] = [pytest.param("sqlite", id="sqlite")]
    url = _postgres_url()
    if url:
        params.append(pytest.param("postgres", id="postgres", marks=pytest.mark.postgres))
    elif os.environ.get("REQUIRE_POSTGRES") == "1":
        raise pytest.UsageError("REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set")
    return params


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """Migrate the PostgreSQL test database once per session (from scratch)."""
    url = _postgres_url()
    assert url is not None
    import sqlalchemy

    from store.engine import sync_url

    try:
        engine = sqlalchemy.create_engine(sync_url(url))
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    except sqlalchemy.exc.OperationalError as err:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"REQUIRE_POSTGRES=1 and PostgreSQL is unreachable: {err}")
        pytest.skip(f"PostgreSQL unreachable: {err}")
    upgrade(url)
    return url


@pytest.fixture(params=_backends())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty store: a fresh SQLite file, or the truncated PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'tickets.db'}"
        upgrade(url)
        return url
    url = str(request.getfixturevalue("postgres_url"))
    import sqlalchemy

    from store.engine import sync_url

    engine = sqlalchemy.create_engine(sync_url(url))
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[SessionMaker]:
    engine = create_engine(database_url)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """SQLite only: for tests about Temporal behaviour, where the backend is incidental."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'tickets.db'}"
    upgrade(url)
    return url


# -- SMTP ----------------------------------------------------------------------------


@dataclass
class Mailbox:
    """What an in-process aiosmtpd server received; `refuse` scripts SMTP answers."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse: list[str] = field(default_factory=list)
    """Responses to give (in order) instead of accepting, e.g. "451 try later"."""
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]

    async def wait_for(self, count: int, timeout: float = 20.0) -> list[EmailMessage]:
        async with asyncio.timeout(timeout):
            while len(self.messages) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.messages


class _Handler:
    def __init__(self, box: Mailbox, loop: asyncio.AbstractEventLoop) -> None:
        self.box = box
        self.loop = loop

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.box.refuse:
            return self.box.refuse.pop(0)
        assert isinstance(envelope.content, bytes)
        message = message_from_bytes(envelope.content, policy=email_policy.default)
        assert isinstance(message, EmailMessage)
        self.box.messages.append(message)
        self.loop.call_soon_threadsafe(self.box.arrived.set)
        return "250 Message accepted for delivery"


@pytest.fixture
async def smtp() -> AsyncIterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(
        _Handler(box, asyncio.get_running_loop()), hostname="127.0.0.1", port=port
    )
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()
