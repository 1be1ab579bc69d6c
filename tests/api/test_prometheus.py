"""`GET /metrics`: store counts with their labels, request latency by route template, store down.

The app runs without Temporal (a lazy client that is never used): these routes read only
the store.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from api import observability
from api.app import create_app
from store import repository
from store.engine import SessionMaker, create_engine, create_sessionmaker
from tests.api.conftest import ALICE, serving, settings_for
from tests.store.test_reporting import ticket
from ticketflow.environment import free_port

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
Samples = dict[tuple[tuple[str, str], ...], float]


def build_app(database_url: str) -> FastAPI:
    app = create_app(settings_for(database_url, "tq-unused", free_port()))
    if not hasattr(app.state, "observability"):
        observability.install(app)  # until api/app.py installs it
    return app


async def scrape(http: httpx.AsyncClient) -> str:
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return response.text


def samples(text: str, name: str) -> Samples:
    """Every sample called `name`, keyed by its sorted labels (the text must parse)."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def nonzero(found: Samples) -> dict[tuple[str, ...], float]:
    return {tuple(v for _, v in labels): value for labels, value in found.items() if value}


def sla(tid: str, seq: int, metric: str, event: str, priority: str) -> dict[str, Any]:
    return {"ticket_id": tid, "seq": seq, "metric": metric, "cycle": 1, "event": event,
            "at": NOW + timedelta(minutes=seq), "priority": priority}  # fmt: skip


def resolved_ticket(tid: str, status: str, priority: str, channel: str, **extra: Any) -> Any:
    return ticket(tid, NOW, status, priority, channel, "billing", "frontline",
                  resolved_at=NOW + timedelta(hours=1), **extra)  # fmt: skip


TICKETS = [
    ticket("A", NOW, "new", "P1", "chat", "billing", "frontline"),
    ticket("B", NOW, "open", "P1", "chat", "billing", None),
    resolved_ticket("C", "resolved", "P2", "email"),
    # resolved, reopened twice, resolved each time: three resolutions
    resolved_ticket("D", "closed", "P2", "email", reopen_count=2),
    # resolved once, reopened, not resolved again: one resolution, open now
    ticket("E", NOW, "open", "P3", "phone", "billing", "frontline", reopen_count=1),
    ticket("F", NOW, "awaiting_customer", "P4", "portal", "billing", "frontline"),
    ticket("G", NOW, "on_hold", "P2", "email", "billing", "frontline"),
]
SLA_EVENTS = [
    sla("A", 2, "first_response", "breached", "P1"),
    sla("B", 2, "resolution", "at_risk", "P1"),
    sla("B", 3, "resolution", "breached", "P1"),
    sla("C", 2, "first_response", "at_risk", "P2"),
    sla("C", 3, "first_response", "met", "P2"),
    # breached while D was P3; it is P2 now: the breach keeps its priority
    sla("D", 2, "resolution", "breached", "P3"),
    sla("D", 3, "next_update", "breached", "P2"),
]


async def load(
    sessions: SessionMaker, tickets: list[dict[str, Any]], sla_events: list[dict[str, Any]]
) -> None:
    async with sessions.begin() as session:
        for row in tickets:
            await repository.upsert_ticket(session, values=row)
        await repository.insert_sla_events(session, rows=sla_events)


async def test_store_counts_with_their_labels(database_url: str, sessions: SessionMaker) -> None:
    await load(sessions, TICKETS, SLA_EVENTS)
    async with serving(build_app(database_url)) as http:
        text = await scrape(http)

    assert samples(text, "ticketflow_store_up") == {(): 1.0}
    created = samples(text, "ticketflow_tickets_created_total")
    assert len(created) == 4 * 5  # every priority x channel, zeros included
    assert created[(("channel", "api"), ("priority", "P1"))] == 0
    assert nonzero(created) == {
        ("chat", "P1"): 2,
        ("email", "P2"): 3,
        ("phone", "P3"): 1,
        ("portal", "P4"): 1,
    }
    assert nonzero(samples(text, "ticketflow_tickets_resolved_total")) == {
        ("email", "P2"): 1 + 3,
        ("phone", "P3"): 1,
    }
    breaches = samples(text, "ticketflow_sla_breaches_total")
    assert len(breaches) == 4 * 4  # every metric x priority
    assert nonzero(breaches) == {
        ("first_response", "P1"): 1,
        ("resolution", "P1"): 1,
        ("resolution", "P3"): 1,
        ("next_update", "P2"): 1,
    }
    backlog = samples(text, "ticketflow_open_tickets")
    assert len(backlog) == 4 * 4  # every open status x priority
    assert nonzero(backlog) == {
        ("P1", "new"): 1,
        ("P1", "open"): 1,
        ("P3", "open"): 1,
        ("P4", "awaiting_customer"): 1,
        ("P2", "on_hold"): 1,
    }
    types = {family.name: family.type for family in text_string_to_metric_families(text)}
    assert types["ticketflow_tickets_created"] == "counter"
    assert types["ticketflow_sla_breaches"] == "counter"
    assert types["ticketflow_open_tickets"] == "gauge"


async def test_resolutions_never_go_down_across_a_reopen(
    database_url: str, sessions: SessionMaker
) -> None:
    """The projection's snapshots of one ticket (whole rows, as `ticket_row` writes them):
    resolved, reopened, resolved again."""
    resolved_at = NOW + timedelta(hours=1)
    snapshots = [
        ticket("R", NOW, "resolved", "P2", "chat", "billing", "frontline", last_seq=2,
               resolved_at=resolved_at),
        ticket("R", NOW, "open", "P2", "chat", "billing", "frontline", last_seq=3,
               reopen_count=1, resolved_at=None),
        ticket("R", NOW, "resolved", "P2", "chat", "billing", "frontline", last_seq=4,
               reopen_count=1, resolved_at=resolved_at + timedelta(hours=1)),
    ]  # fmt: skip
    key = (("channel", "chat"), ("priority", "P2"))
    seen = []
    async with serving(build_app(database_url)) as http:
        for snapshot in snapshots:
            await load(sessions, [snapshot], [])
            seen.append(samples(await scrape(http), "ticketflow_tickets_resolved_total")[key])
    assert seen == [1, 1, 2]


async def test_latency_is_labelled_by_route_template(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    values = ticket("TKT-7", NOW, "open", "P2", "email", "billing", "frontline")
    await load(create_sessionmaker(engine), [values], [])
    await engine.dispose()
    async with serving(build_app(sqlite_url)) as http:
        assert (await http.get("/v1/tickets/TKT-7/events", headers=ALICE)).status_code == 200
        for missing in ("TKT-8", "TKT-9"):
            response = await http.get(f"/v1/tickets/{missing}/events", headers=ALICE)
            assert response.status_code == 404
        assert (await http.get("/no/such/TKT-10")).status_code == 404
        text = await scrape(http)

    counts = nonzero(samples(text, "ticketflow_api_request_duration_seconds_count"))
    template = "/v1/tickets/{ticket_id}/events"
    assert counts[("GET", template, "200")] == 1
    assert counts[("GET", template, "404")] == 2
    assert counts[("GET", observability.UNMATCHED, "404")] == 1
    assert not [labels for labels in counts if any("TKT" in value for value in labels)]
    buckets = samples(text, "ticketflow_api_request_duration_seconds_bucket")
    inf = (("le", "+Inf"), ("method", "GET"), ("route", template), ("status", "404"))
    assert buckets[inf] == 2
    duration = samples(text, "ticketflow_api_request_duration_seconds_sum")
    assert duration[(("method", "GET"), ("route", template), ("status", "200"))] > 0


async def test_each_app_has_its_own_registry(sqlite_url: str) -> None:
    first, second = build_app(sqlite_url), build_app(sqlite_url)
    async with serving(first) as one, serving(second) as two:
        assert (await one.get("/healthz")).status_code == 200
        mine = samples(await scrape(one), "ticketflow_api_request_duration_seconds_count")
        theirs = samples(await scrape(two), "ticketflow_api_request_duration_seconds_count")
    healthz = (("method", "GET"), ("route", "/healthz"), ("status", "200"))
    assert mine[healthz] == 1
    assert healthz not in theirs


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("postgresql+psycopg://postgres@127.0.0.1:{port}/none", id="refused"),
        pytest.param("sqlite+aiosqlite:////nonexistent/ticketflow/{port}.db", id="unopenable"),
    ],
)
async def test_store_down_still_answers(url: str) -> None:
    async with serving(build_app(url.format(port=free_port()))) as http:
        text = await scrape(http)
    assert samples(text, "ticketflow_store_up") == {(): 0.0}
    names = {family.name for family in text_string_to_metric_families(text)}
    assert "ticketflow_tickets_created" not in names
    assert "process_cpu_seconds" in names
    assert "ticketflow_api_request_duration_seconds" in names
