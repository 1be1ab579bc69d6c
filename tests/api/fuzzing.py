"""The harness of the API fuzz (test_fuzz.py, test_fuzz_valid.py), with schemathesis.

Hermetic and deterministic: the in-process app, a real store (PostgreSQL when
`TEST_DATABASE_URL` is set, else SQLite), the time-skipping Temporal test server and a
worker, an SMTP server that accepts everything; examples are derandomized by the tests.
Requests are sent with httpx on the test's event loop, where the app's store engine and
Temporal client live (schemathesis's own ASGI client would run the app on a loop of its
own), and each answer is checked with `Case.validate_response`. Hypothesis drives the
examples from a worker thread (`asyncio.to_thread`), so the loop stays free to serve them.

Rate limits are raised out of reach here: a 429 would depend on how fast the machine
runs, and the limits have their own tests (test_bounds.py).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import text
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.config import ApiSettings
from store.engine import sync_url
from store.migrate import upgrade
from tests.api.conftest import ADMIN, ALICE, SERVICE, settings_for
from tests.conftest import TEST_SERVER, _postgres_url
from tests.workflows.harness import running_worker
from ticketflow.environment import free_port
from ticketflow.search_attributes import register as register_search_attributes

QUIET = pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module:hypothesis.errors.HypothesisDeprecationWarning"
)
"""Hypothesis warns when the global `random` changes during a draw. Here the event loop's
thread (the app, the Temporal worker) keeps running beside the drawing thread and uses
it; no draw depends on it, so the examples stay the same from run to run."""

ROLES: dict[str, dict[str, str]] = {
    "service": SERVICE,
    "agent": ALICE,
    "admin": ADMIN,
    "anonymous": {},
}
CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
UNLIMITED = ApiSettings.model_validate(
    {"RATE_LIMIT_PER_SECOND": 1_000_000, "RATE_LIMIT_BURST": 1_000_000}
)


def _schema() -> Any:
    """The description the app serves (building the app starts nothing)."""
    app = create_app(settings_for("sqlite+aiosqlite://", "tq-schema", 1), bounds=UNLIMITED)
    return schemathesis.openapi.from_dict(app.openapi())


SCHEMA = _schema()
OPERATIONS = {result.ok().label: result.ok() for result in SCHEMA.get_all_operations()}


class _Accept:
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return "250 accepted"


@dataclass
class Fuzzed:
    http: httpx.AsyncClient
    loop: asyncio.AbstractEventLoop
    ticket_ids: list[str]
    answered: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    """Statuses seen per operation and role, to show how deep the fuzz reached."""


def _empty_store(tmp: Path) -> str:
    url = _postgres_url()
    if url is None:
        url = f"sqlite+aiosqlite:///{tmp / 'tickets.db'}"
        upgrade(url)
        return url
    engine = create_sync_engine(sync_url(url))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade(url)
    return url


@pytest.fixture(scope="module", name="fuzzed")
async def fuzzed_fixture(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Fuzzed]:
    database_url = _empty_store(tmp_path_factory.mktemp("fuzz"))
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=pydantic_data_converter
    )
    await register_search_attributes(env.client, "default")
    smtp_port = free_port()
    smtp = Controller(_Accept(), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    task_queue = f"tq-{uuid.uuid4()}"
    settings = settings_for(database_url, task_queue, smtp_port)
    app = create_app(settings, temporal=env.client, bounds=UNLIMITED)
    transport = httpx.ASGITransport(app=app)
    try:
        async with (
            running_worker(env.client, task_queue, database_url, smtp_port),
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://api") as http,
        ):
            yield Fuzzed(http, asyncio.get_running_loop(), await _seed(http))
    finally:
        smtp.stop()
        await env.shutdown()


async def _seed(http: httpx.AsyncClient) -> list[str]:
    """Two real tickets, so that fuzzed actions also reach live workflows, not only 404."""
    ids = []
    for n in range(2):
        body = {
            "requester": {"email": f"fuzz-{n}@example.com", "name": "Fuzz"},
            "subject": f"Seed {n}",
            "description": "A ticket for the fuzzer to act on.",
            "channel": "email",
        }
        response = await http.post("/v1/tickets", json=body, headers=SERVICE)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def _request(kwargs: dict[str, Any]) -> dict[str, Any]:
    """httpx arguments from schemathesis's (requests-style) serialised case."""
    request = {key: kwargs[key] for key in ("method", "url", "headers", "params")}
    if kwargs.get("cookies"):  # the API reads none; httpx warns about per-request cookies
        request["cookies"] = kwargs["cookies"]
    if "json" in kwargs:
        request["json"] = kwargs["json"]
    if "data" in kwargs:
        request["content"] = kwargs["data"]
    return request


def examples(count: int) -> settings:
    """Hypothesis settings of a fuzz run: `count` examples, the same ones every run."""
    return settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )


def call_and_check(on: Fuzzed, case: Any, role: str, checks: list[Any]) -> httpx.Response:
    """From the worker thread: send `case` as `role` on the test's loop, then check it."""
    headers = ROLES[role]
    kwargs = case.as_transport_kwargs(base_url="http://api", headers=headers)
    future = asyncio.run_coroutine_threadsafe(on.http.request(**_request(kwargs)), on.loop)
    response = future.result(timeout=120)
    on.answered[f"{case.operation.label} as {role}"][response.status_code] += 1
    case.validate_response(response, checks=checks, headers=headers)
    return response
