"""Prometheus metrics of the API: request latency per route template, and the store's counts.

Each app has its own registry (`install`), so two apps in one process never share a
series. Ticket counts are read from the store at scrape time, not counted in this process,
so every replica reports the same totals however many API replicas and workers there are.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from fastapi import FastAPI
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.policy.support import SupportPolicy
from domain.policy.vocabulary import Vocabulary
from store.engine import SessionMaker
from store.incidents import incident_metrics
from store.metrics import LabelPair, TicketCounts, ticket_counts

log = logging.getLogger("ticketflow.api.metrics")

UNMATCHED = "(unmatched)"
"""The `route` label of a request no route matched (a raw path would be unbounded)."""
STORE_TIMEOUT_SECONDS = 5.0
"""A scrape gives up on the store after this long and reports `ticketflow_store_up 0`."""


def _new_registry() -> CollectorRegistry:
    # The process, platform and GC collectors read process-wide state; registering the
    # default instances in a second registry only adds a reader, never a second series.
    registry = CollectorRegistry(auto_describe=True)
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(collector)
    return registry


@dataclass
class ApiMetrics:
    """One app's registry: process metrics and the request latency histogram."""

    registry: CollectorRegistry = field(default_factory=_new_registry)
    request_duration: Histogram = field(init=False)

    def __post_init__(self) -> None:
        self.request_duration = Histogram(
            "ticketflow_api_request_duration_seconds",
            "Time from request to the end of the response, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )


class RequestDuration:
    """Pure ASGI middleware: observes every HTTP request under its route *template*.

    The router stores the matched route in the scope, so the template is read after the
    call; an exception escaping the app is recorded as the 500 it becomes.
    """

    def __init__(self, app: ASGIApp, *, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_recording_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_recording_status)
        finally:
            route = getattr(scope.get("route"), "path_format", None) or UNMATCHED
            self.histogram.labels(scope["method"], route, str(status)).observe(
                time.perf_counter() - started
            )


def install(app: FastAPI) -> ApiMetrics:
    """Give `app` its registry and latency middleware; call once, in `create_app`."""
    metrics = ApiMetrics()
    app.state.observability = metrics
    app.add_middleware(RequestDuration, histogram=metrics.request_duration)
    return metrics


_PRIORITY_CHANNEL = ["priority", "channel"]


class StoreCollector(Collector):
    """The store's counts fetched for one scrape, as Prometheus families."""

    def __init__(self, counts: TicketCounts | None) -> None:
        self.counts = counts

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "ticketflow_store_up", "1 if the store answered this scrape's queries, else 0."
        )
        up.add_metric([], 0 if self.counts is None else 1)
        yield up
        if self.counts is None:
            return
        yield _family(
            CounterMetricFamily(
                "ticketflow_tickets_created", "Tickets created.", labels=_PRIORITY_CHANNEL
            ),
            self.counts.created,
        )
        yield _family(
            CounterMetricFamily(
                "ticketflow_tickets_resolved",
                "Resolutions (a ticket reopened and resolved again counts twice).",
                labels=_PRIORITY_CHANNEL,
            ),
            self.counts.resolved,
        )
        yield _family(
            CounterMetricFamily(
                "ticketflow_sla_breaches",
                "SLA clocks breached, by metric and the priority at the breach.",
                labels=["metric", "priority"],
            ),
            self.counts.sla_breaches,
        )
        yield _family(
            GaugeMetricFamily(
                "ticketflow_open_tickets",
                "Open tickets now (the backlog), by status and priority.",
                labels=["status", "priority"],
            ),
            self.counts.open,
        )


def _family(
    family: CounterMetricFamily | GaugeMetricFamily, values: dict[LabelPair, int]
) -> Metric:
    for labels, value in sorted(values.items()):
        family.add_metric(list(labels), value)
    return family


class IncidentCollector(Collector):
    """Major incidents by status, and the tickets linked to one, read for one scrape."""

    def __init__(self, counts: dict[str, int] | None) -> None:
        self.counts = counts

    def collect(self) -> Iterator[Metric]:
        if self.counts is None:
            return
        by_status = GaugeMetricFamily(
            "ticketflow_incidents", "Major incidents, by status.", labels=["status"]
        )
        for key, value in sorted(self.counts.items()):
            if key.startswith("incidents_"):
                by_status.add_metric([key.removeprefix("incidents_")], value)
        yield by_status
        linked = GaugeMetricFamily(
            "ticketflow_incident_linked_tickets", "Tickets linked to a major incident now."
        )
        linked.add_metric([], self.counts.get("linked_tickets", 0))
        yield linked


async def _read_incident_counts(sessions: SessionMaker) -> dict[str, int] | None:
    try:
        async with asyncio.timeout(STORE_TIMEOUT_SECONDS), sessions() as session:
            return await incident_metrics(session)
    except Exception as err:  # a scrape reports what it can, it never fails
        log.warning("incident metrics unavailable: %s: %s", type(err).__name__, err)
        return None


class _Scrape(Collector):
    def __init__(self, *collectors: Collector) -> None:
        self.collectors = collectors

    def collect(self) -> Iterable[Metric]:
        for collector in self.collectors:
            yield from collector.collect()


async def _read_counts(
    sessions: SessionMaker, vocabulary: Vocabulary | None
) -> TicketCounts | None:
    vocabulary = vocabulary or Vocabulary()
    try:
        async with asyncio.timeout(STORE_TIMEOUT_SECONDS), sessions() as session:
            return await ticket_counts(
                session, priorities=vocabulary.priority_ids, channels=vocabulary.channel_ids
            )
    except Exception as err:  # a scrape reports the store down, it never fails
        log.warning("store metrics unavailable: %s: %s", type(err).__name__, err)
        return None


async def scrape(app: FastAPI) -> bytes:
    """The Prometheus text of `app`: its registry, then the store's counts read now."""
    # An app built without `install` still reports the store and the process, not latency.
    metrics: ApiMetrics | None = getattr(app.state, "observability", None)
    registry = metrics.registry if metrics is not None else _new_registry()
    policy: SupportPolicy | None = getattr(app.state, "policy", None)
    counts = await _read_counts(app.state.sessions, policy.vocabulary if policy else None)
    incidents = await _read_incident_counts(app.state.sessions) if counts is not None else None
    return generate_latest(_Scrape(registry, StoreCollector(counts), IncidentCollector(incidents)))
