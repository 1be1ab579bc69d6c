"""Schemathesis fuzzes every operation of the API's OpenAPI description, as each role and
without a token: no answer may be a 5xx, every answer must be one the description
declares (status, content type, headers, body schema), and data that breaks the
description must be refused. The harness is in fuzzing.py.

Checks left out, narrowly: `positive_data_acceptance`, because the description is looser
than the validators (an email has no `format`, one-line text no pattern: those models
are `domain/`'s), so schema-valid data is often refused with a 422 by design
(test_fuzz_valid.py draws bodies the validators accept); and the stateful checks
(`use_after_free`, `ensure_resource_availability`, …), which need schemathesis's own
runner and its links between operations.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from fastapi.routing import APIRoute
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection

from api.idempotency import KEY_PATTERN, MAX_KEY_CHARS, valid_key
from api.routes import (
    approvals,
    codec,
    csat,
    health,
    inbound,
    incidents,
    metrics,
    sla,
    ticket_customer,
    tickets,
    webhooks,
)
from tests.api.fuzzing import (
    CONFORMANCE,
    OPERATIONS,
    QUIET,
    ROLES,
    Fuzzed,
    call_and_check,
    examples,
    fuzzed_fixture,  # noqa: F401 (the `fuzzed` fixture, one per test module)
)

pytestmark = QUIET

EXAMPLES = {GenerationMode.POSITIVE: 50, GenerationMode.NEGATIVE: 25}
"""Examples per operation, role and mode: about two minutes in all on a busy machine."""
CHECKS = {
    GenerationMode.POSITIVE: CONFORMANCE,
    # Data that breaks the description must be refused (4xx), never acted upon.
    GenerationMode.NEGATIVE: [*CONFORMANCE, negative_data_rejection],
}


def _fuzz(operation: Any, role: str, mode: GenerationMode, on: Fuzzed) -> None:
    """Run in a worker thread: Hypothesis draws cases, the test's loop serves them."""

    @examples(EXAMPLES[mode])
    @given(
        case=operation.as_strategy(generation_mode=mode),
        ticket_id=st.sampled_from([None, *on.ticket_ids]),
    )
    def check(case: Any, ticket_id: str | None) -> None:
        if ticket_id is not None and "ticket_id" in (case.path_parameters or {}):
            case.path_parameters["ticket_id"] = ticket_id
        call_and_check(on, case, role, CHECKS[mode])

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
    routers = [health.router, tickets.router, ticket_customer.router, sla.router, metrics.router]
    routers += [webhooks.router, codec.router, csat.router, approvals.router, incidents.router]
    desk = {"ticket_prefix": "TKT", "mail_domain": "desk.example", "mail_from": "a@desk.example"}
    routers.append(inbound.build_router(**desk))
    routes = {
        f"{method} {route.path}"
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }
    assert routes == set(OPERATIONS)
    assert len(routes) >= 24  # the 24 of this writing: none may drop out unnoticed


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
