"""Abuse bounds: rate limits, body size however sent, the metrics window, the /metrics token.

These apps run without Temporal (a lazy client that is never used): every route here
answers before it would reach a workflow.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from api.app import create_app
from api.config import ApiSettings
from api.ratelimit import window
from tests.api.conftest import ADMIN, ALICE, SERVICE, serving, settings_for
from ticketflow.environment import free_port

EXPLAIN = "/v1/sla/explain?priority=P2"
"""A route that needs a token and reads only the policy: cheap to call many times."""


def build(database_url: str, **bounds: Any) -> FastAPI:
    settings = settings_for(database_url, "tq-unused", free_port())
    return create_app(settings, bounds=ApiSettings.model_validate(bounds))


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, str]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error: dict[str, str] = response.json()["error"]
    assert error["code"] == code
    assert set(error) == {"code", "message"}
    return error


# -- rate limits -------------------------------------------------------------------------

# One request in 20 s with bursts of 3: a moving window of 3 requests per 60 seconds, so
# a fourth request right after three is refused even on a very slow machine.
SLOW = {"per_second": 0.05, "burst": 3}


async def test_a_token_over_its_burst_gets_429_with_retry_after(sqlite_url: str) -> None:
    app = build(sqlite_url, RATE_LIMIT_ROLES={"service": SLOW})
    async with serving(app) as http:
        for _ in range(3):
            assert (await http.get(EXPLAIN, headers=SERVICE)).status_code == 200
        refused = await http.get(EXPLAIN, headers=SERVICE)
        error = assert_error(refused, 429, "rate_limited")
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert "svc" not in error["message"]  # never echoes the token
        # Another token, even of another role, has its own count.
        assert (await http.get(EXPLAIN, headers=ALICE)).status_code == 200
        # Every route counts, including one the token may not call, and any body.
        posted = await http.post("/v1/tickets", headers=SERVICE, json={})
        assert_error(posted, 429, "rate_limited")


async def test_each_role_has_its_own_limit(sqlite_url: str) -> None:
    app = build(
        sqlite_url,
        RATE_LIMIT_PER_SECOND=0.05,
        RATE_LIMIT_BURST=2,
        RATE_LIMIT_ROLES={"admin": {"per_second": 0.1, "burst": 5}},
    )
    async with serving(app) as http:
        admin = [(await http.get(EXPLAIN, headers=ADMIN)).status_code for _ in range(6)]
        agent = [(await http.get(EXPLAIN, headers=ALICE)).status_code for _ in range(3)]
    assert admin == [200] * 5 + [429]
    assert agent == [200, 200, 429]


async def test_requests_without_a_known_token_count_per_address(sqlite_url: str) -> None:
    app = build(sqlite_url, RATE_LIMIT_ROLES={"anonymous": SLOW})
    guesses = [{"Authorization": f"Bearer guess-{n}"} for n in range(3)]
    async with serving(app) as http:
        # Unknown tokens and no token share the address's count: guessing is bounded.
        statuses = [(await http.get(EXPLAIN, headers=h)).status_code for h in guesses]
        assert statuses == [401, 401, 401]
        assert_error(await http.get("/healthz"), 429, "rate_limited")
        assert (await http.get(EXPLAIN, headers=SERVICE)).status_code == 200
    other = httpx.ASGITransport(app=app, client=("192.0.2.7", 4000))
    async with httpx.AsyncClient(transport=other, base_url="http://api") as http:
        assert (await http.get("/healthz")).status_code == 200


async def test_rate_limits_can_be_switched_off(sqlite_url: str) -> None:
    app = build(
        sqlite_url, RATE_LIMIT_ENABLED=False, RATE_LIMIT_PER_SECOND=0.05, RATE_LIMIT_BURST=1
    )
    async with serving(app) as http:
        statuses = {(await http.get(EXPLAIN, headers=SERVICE)).status_code for _ in range(3)}
    assert statuses == {200}


def test_the_default_is_20_a_second_with_bursts_of_40() -> None:
    item = window(ApiSettings.model_validate({}).rate_limit("service"))
    assert (item.amount, item.multiples, item.GRANULARITY.name) == (40, 2, "second")


def test_role_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "RATE_LIMIT_ROLES", json.dumps({"service": {"per_second": 100, "burst": 250}})
    )
    monkeypatch.setenv("RATE_LIMIT_PER_SECOND", "0.5")
    monkeypatch.setenv("RATE_LIMIT_BURST", "10")
    settings = ApiSettings()
    service, agent = window(settings.rate_limit("service")), window(settings.rate_limit("agent"))
    assert (service.amount, service.multiples) == (250, 3)  # ceil(2.5) seconds
    assert (agent.amount, agent.multiples) == (10, 20)  # one every 2 s on average


@pytest.mark.parametrize(
    "bad",
    [
        {"RATE_LIMIT_ROLES": {"operator": SLOW}},
        {"RATE_LIMIT_ROLES": {"agent": {"per_second": 10, "burst": 5}}},
        {"RATE_LIMIT_PER_SECOND": 0},
        {"RATE_LIMIT_ROLES": {"service": {"per_second": -1, "burst": 5}}},
        {"METRICS_MAX_WINDOW_DAYS": 0},
    ],
    ids=["unknown-role", "burst-below-rate", "zero-rate", "negative-rate", "zero-window"],
)
def test_impossible_bounds_stop_the_api_at_start(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ApiSettings.model_validate(bad)


# -- body size ---------------------------------------------------------------------------

MIB = 1024 * 1024


async def chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """`total` bytes of one JSON string, streamed: httpx sends no Content-Length."""
    body = b'{"subject": "' + b"x" * (total - 15) + b'"}'
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_a_chunked_body_over_the_limit_is_413(sqlite_url: str) -> None:
    async with serving(build(sqlite_url)) as http:
        request = http.build_request(
            "POST", "/v1/tickets", headers=SERVICE, content=chunks(2 * MIB)
        )
        assert "content-length" not in request.headers
        assert request.headers["transfer-encoding"] == "chunked"
        response = await http.send(request)
    error = assert_error(response, 413, "payload_too_large")
    assert str(MIB) in error["message"]


async def test_a_body_over_the_limit_is_413_with_a_content_length_too(sqlite_url: str) -> None:
    async with serving(build(sqlite_url)) as http:
        response = await http.post("/v1/tickets", headers=SERVICE, content=b"x" * (MIB + 1))
    assert_error(response, 413, "payload_too_large")


async def test_a_chunked_body_at_the_limit_reaches_the_route(sqlite_url: str) -> None:
    async with serving(build(sqlite_url)) as http:
        headers = {**SERVICE, "Content-Type": "application/json"}
        response = await http.post("/v1/tickets", headers=headers, content=chunks(MIB))
    # Read whole and parsed: not a ticket, so the route's own validation answers.
    error = assert_error(response, 422, "validation_error")
    assert "requester" in error["message"]


# -- the metrics summary window ----------------------------------------------------------

SUMMARY = "/v1/metrics/summary"
END = datetime(2026, 11, 30, tzinfo=UTC)


def window_params(days: float) -> dict[str, str]:
    return {"from": (END - timedelta(days=days)).isoformat(), "to": END.isoformat()}


async def test_a_window_longer_than_the_maximum_is_422(database_url: str) -> None:
    async with serving(build(database_url)) as http:
        longest = await http.get(SUMMARY, headers=ALICE, params=window_params(92))
        too_long = await http.get(SUMMARY, headers=ALICE, params=window_params(92.001))
        year = await http.get(SUMMARY, headers=ADMIN, params={"from": "2025-01-01T00:00:00Z"})
    assert longest.status_code == 200, longest.text
    assert longest.json()["window"]["from"] == "2026-08-30T00:00:00Z"
    assert "at most 92 days" in assert_error(too_long, 422, "validation_error")["message"]
    assert_error(year, 422, "validation_error")


@pytest.mark.parametrize(
    "params",
    [
        {"to": "0001-01-01T00:00:00Z"},  # the default `from` would be before year 1
        {"from": "0001-01-01T00:00:00+05:00", "to": "0001-01-02T00:00:00Z"},
        {"from": "9999-12-31T00:00:00Z", "to": "9999-12-31T23:59:59-05:00"},
    ],
    ids=["default-from-before-year-1", "from-before-utc-year-1", "to-after-utc-year-9999"],
)
async def test_a_window_out_of_range_is_422_not_500(
    sqlite_url: str, params: dict[str, str]
) -> None:
    async with serving(build(sqlite_url)) as http:
        response = await http.get(SUMMARY, headers=ALICE, params=params)
    assert "out of range" in assert_error(response, 422, "validation_error")["message"]


async def test_the_maximum_window_is_a_setting(database_url: str) -> None:
    async with serving(build(database_url, METRICS_MAX_WINDOW_DAYS=7)) as http:
        default = await http.get(SUMMARY, headers=ALICE)
        too_long = await http.get(SUMMARY, headers=ALICE, params=window_params(8))
    window_out = default.json()["window"]
    start, end = (datetime.fromisoformat(window_out[k]) for k in ("from", "to"))
    assert end - start == timedelta(days=7)  # the 30-day default shrinks to the maximum
    assert "at most 7 days" in assert_error(too_long, 422, "validation_error")["message"]


# -- /metrics ----------------------------------------------------------------------------


async def test_metrics_behind_a_token(sqlite_url: str) -> None:
    async with serving(build(sqlite_url, METRICS_TOKEN="scrape-secret")) as http:
        anonymous = await http.get("/metrics")
        wrong = await http.get("/metrics", headers=ADMIN)
        scraper = await http.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
    assert_error(anonymous, 401, "unauthorized")
    assert_error(wrong, 401, "unauthorized")
    assert scraper.status_code == 200
    assert "ticketflow_store_up 1.0" in scraper.text


async def test_metrics_are_open_by_default(sqlite_url: str) -> None:
    async with serving(build(sqlite_url)) as http:
        assert (await http.get("/metrics")).status_code == 200
