"""Schemathesis fuzzes every operation of the API's OpenAPI description, as each role and
without a token: no answer may be a 5xx, and every answer must be one the description
declares (status, content type, headers, body schema).

Hermetic and deterministic: the in-process app, a real store (PostgreSQL when
`TEST_DATABASE_URL` is set, else SQLite), the time-skipping Temporal test server and a
worker, an SMTP server that accepts everything; examples are derandomized. Requests are
sent with httpx on the test's event loop, where the app's store engine and Temporal
client live (schemathesis's own ASGI client would run the app on a loop of its own), and
each answer is checked with `Case.validate_response`. Hypothesis drives the examples
from a worker thread, so the loop stays free to serve them.

Rate limits are raised out of reach here: a 429 would depend on how fast the machine
runs, and the limits have their own tests (test_bounds.py).

Checks left out, narrowly: `positive_data_acceptance`, because the description is looser
than the validators (an email has no `format`, one-line text no pattern: those models
are `domain/`'s), so schema-valid data is refused with a 422 by design; and the
stateful checks (`use_after_free`, `ensure_resource_availability`, …), which need
schemathesis's own runner and its links between operations.
"""

from __future__ import annotations

import asyncio
import re
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
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
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
from api.idempotency import KEY_PATTERN, MAX_KEY_CHARS, valid_key
from api.routes import health, inbound, metrics, sla, tickets
from store.engine import sync_url
from store.migrate import upgrade
from tests.api.conftest import ADMIN, ALICE, SERVICE, settings_for
from tests.conftest import TEST_SERVER, _postgres_url, free_port
from tests.workflows.harness import running_worker
from workflows.search_attributes import register as register_search_attributes

# Schemathesis's own negative strategies draw from `random`; Hypothesis seeds it for each
# example, so the run stays deterministic. The warning is about its code, not ours.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module:hypothesis.errors.HypothesisDeprecationWarning"
)

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
CHECKS = {
    GenerationMode.POSITIVE: CONFORMANCE,
    # Data that breaks the description must be refused (4xx), never acted upon.
    GenerationMode.NEGATIVE: [*CONFORMANCE, negative_data_rejection],
}
EXAMPLES = {GenerationMode.POSITIVE: 50, GenerationMode.NEGATIVE: 25}
"""Examples per operation, role and mode: about two minutes in all on a busy machine."""
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


@pytest.fixture(scope="module")
async def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Fuzzed]:
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


def _fuzz(operation: Any, role: str, mode: GenerationMode, on: Fuzzed) -> None:
    """Run in a worker thread: Hypothesis draws cases, the test's loop serves them."""

    def send(request: dict[str, Any]) -> httpx.Response:
        future = asyncio.run_coroutine_threadsafe(on.http.request(**request), on.loop)
        return future.result(timeout=120)

    @settings(
        max_examples=EXAMPLES[mode],
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=operation.as_strategy(generation_mode=mode),
        ticket_id=st.sampled_from([None, *on.ticket_ids]),
    )
    def check(case: Any, ticket_id: str | None) -> None:
        if ticket_id is not None and "ticket_id" in (case.path_parameters or {}):
            case.path_parameters["ticket_id"] = ticket_id
        headers = ROLES[role]
        kwargs = case.as_transport_kwargs(base_url="http://api", headers=headers)
        response = send(_request(kwargs))
        on.answered[f"{operation.label} as {role}"][response.status_code] += 1
        case.validate_response(response, checks=CHECKS[mode], headers=headers)

    check()


def _has_inputs(operation: Any) -> bool:
    parameters = (operation.path_parameters, operation.query, operation.headers)
    return any(len(p) for p in parameters) or len(operation.body) > 0


# Negative data needs something to make invalid: a route without inputs gets none.
CASES = [
    pytest.param(label, role, mode, id=f"{label}-{role}-{mode}")
    for label, operation in OPERATIONS.items()
    for role in ROLES
    for mode in EXAMPLES
    if mode is GenerationMode.POSITIVE or _has_inputs(operation)
]


@pytest.mark.parametrize(("label", "role", "mode"), CASES)
async def test_fuzz(fuzzed: Fuzzed, label: str, role: str, mode: GenerationMode) -> None:
    await asyncio.to_thread(_fuzz, OPERATIONS[label], role, mode, fuzzed)


def test_every_route_is_fuzzed() -> None:
    """Each route of each router is an operation of the description the fuzz walks."""
    routers = [health.router, tickets.router, sla.router, metrics.router]
    routers.append(inbound.build_router(ticket_prefix="TKT", mail_domain="desk.example"))
    routes = {
        f"{method} {route.path}"
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }
    assert routes == set(OPERATIONS)
    assert len(routes) == 22


REACHED = [
    "GET /v1/tickets/{ticket_id} as agent",
    "POST /v1/tickets/{ticket_id}/reply as agent",
    "POST /v1/tickets/{ticket_id}/escalate as agent",
    "POST /v1/tickets/{ticket_id}/customer-reply as service",
    "GET /v1/metrics/summary as admin",
    "GET /v1/sla/explain as service",
]


@pytest.mark.parametrize("operation", REACHED)
def test_the_fuzz_reached_live_tickets_not_only_refusals(fuzzed: Fuzzed, operation: str) -> None:
    """Runs after the fuzz (same module fixture): the seeded tickets let actions succeed."""
    if not fuzzed.answered[operation]:
        pytest.skip("the fuzz of this operation was not selected")
    assert any(200 <= status < 300 for status in fuzzed.answered[operation])


@given(st.text(st.characters(max_codepoint=0x7F) | st.sampled_from("é\u00a0\n"), max_size=210))
def test_the_described_idempotency_key_is_the_enforced_one(key: str) -> None:
    described = re.fullmatch(KEY_PATTERN, key) is not None and len(key) <= MAX_KEY_CHARS
    assert described == valid_key(key)
