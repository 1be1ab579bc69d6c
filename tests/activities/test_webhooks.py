"""Webhook delivery against a real HTTP receiver and a real store (SQLite and PostgreSQL):
signatures that verify with the documented code, `seq` order through failures, retries
then failure after the window, pausing, and the allowed hosts at delivery time."""

from __future__ import annotations

import dataclasses
import itertools
import logging
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from domain.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER
from store.engine import SessionMaker
from store.webhook_models import DeliveryStatus, WebhookDelivery
from tests.activities.webhook_support import (
    FAST,
    SECRET,
    attempts,
    deliveries,
    dispatching,
    documented_verify,
    event,
    record,
    subscribe,
    subscription,
)
from tests.conftest import eventually
from tests.webhook_receiver import Receiver, receiving
from ticketflow.environment import free_port


async def test_envelopes_are_signed_and_verify_with_the_documented_code(
    sessions: SessionMaker,
) -> None:
    verify = documented_verify()
    with receiving() as receiver:
        sub = await subscribe(sessions, receiver.url)
        await record(sessions, event("TKT-1", 1, "created"), event("TKT-1", 2, "assigned"))
        async with dispatching(sessions):
            await eventually(lambda: _count(receiver, 2))
    first = receiver.requests[0]
    headers = first.headers
    timestamp, sig = headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER]
    assert sig.startswith("sha256=")
    assert all(verify(SECRET, r.headers[TIMESTAMP_HEADER], r.headers[SIGNATURE_HEADER], r.body)
               for r in receiver.requests)  # fmt: skip
    # A receiver detects a changed body, a wrong secret, or a changed timestamp.
    assert not verify(SECRET, timestamp, sig, first.body.replace(b"TKT-1", b"TKT-2"))
    assert not verify("another-secret-0000", timestamp, sig, first.body)
    assert not verify(SECRET, str(int(timestamp) + 1), sig, first.body)
    envelope = first.envelope
    assert set(envelope) == {"id", "type", "occurred_at", "ticket_id", "seq", "data"}
    assert envelope["id"] == "TKT-1:1"
    assert envelope["type"] == "ticket.created"
    assert receiver.envelopes()[1]["type"] == "ticket.assigned"
    assert [d.status for d in await deliveries(sessions, sub)] == ["delivered", "delivered"]


async def test_a_receiver_failing_its_first_three_answers_gets_each_event_once_in_order(
    sessions: SessionMaker,
) -> None:
    with receiving() as receiver:
        receiver.answers = [500, 503, 502]
        await subscribe(sessions, receiver.url)
        tickets = ("TKT-A", "TKT-B")
        # Events recorded in batches, as the projection records them.
        for seq in (1, 2, 3, 4):
            await record(sessions, *(event(t, seq) for t in tickets))
        async with dispatching(sessions):
            await eventually(lambda: _count(receiver, 8 + 3))
            await record(sessions, *(event(t, 5) for t in tickets))
            await eventually(lambda: _count(receiver, 10 + 3))
    answered = [e for e in receiver.envelopes()]
    for ticket in tickets:
        seqs = [e["seq"] for e in answered if e["ticket_id"] == ticket]
        # Retries repeat an event before the next one is sent; each seq comes after the last.
        assert sorted(seqs) == seqs
        assert sorted(set(seqs)) == [1, 2, 3, 4, 5]
    ids = receiver.ids()
    assert len(ids) == 13
    assert len(set(ids)) == 10


async def test_an_event_is_retried_with_backoff_then_failed_after_the_window(
    sessions: SessionMaker,
) -> None:
    config = dataclasses.replace(FAST, retry_window=timedelta(milliseconds=300))
    with receiving() as receiver:
        receiver.always = 500
        sub = await subscribe(sessions, receiver.url)
        await record(sessions, event("TKT-1", 1))
        async with dispatching(sessions, config):

            async def first_failed() -> bool:
                return (await deliveries(sessions, sub))[0].status == DeliveryStatus.FAILED

            await eventually(first_failed)
            receiver.always = None  # the receiver is back: the ticket's next event goes out
            await record(sessions, event("TKT-1", 2))
            await eventually(lambda: _delivered(sessions, sub, 1))
    failed, delivered = await deliveries(sessions, sub)
    assert failed.attempts >= 2
    assert failed.last_error is not None
    assert "HTTP 500" in failed.last_error
    log = [a for a in await attempts(sessions, sub) if a.delivery_id == failed.id]
    assert len(log) == failed.attempts
    assert all(a.status_code == 500 and a.error for a in log)
    gaps = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(log)]
    # At least the first backoff apart, never hammered; the last retry is brought forward to
    # the end of the window (`test_retries_double_and_stop_at_the_window`), so it is left out.
    assert all(g >= 0.015 for g in gaps[:-1])
    assert delivered.status == DeliveryStatus.DELIVERED
    assert delivered.seq == 2
    assert receiver.envelopes()[-1]["seq"] == 2


async def test_a_subscription_failing_for_the_whole_window_is_paused_with_a_log_and_a_metric(
    sessions: SessionMaker, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    runtime = Runtime(
        telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"127.0.0.1:{port}"))
    )
    config = dataclasses.replace(FAST, pause_after=timedelta(milliseconds=200))
    with receiving() as receiver, caplog.at_level(logging.WARNING, "ticketflow.webhooks"):
        receiver.always = 503
        sub = await subscribe(sessions, receiver.url)
        await record(sessions, event("TKT-1", 1))
        async with dispatching(sessions, config, runtime.metric_meter):

            async def paused() -> bool:
                return not (await subscription(sessions, sub)).active

            await eventually(paused)
            tried = len(receiver.requests)
            await record(sessions, event("TKT-1", 2))  # not queued: the subscription is paused
            await eventually(lambda: _scraped(port, "ticketflow_webhook_subscriptions_paused"))
        assert len(receiver.requests) == tried
    paused_sub = await subscription(sessions, sub)
    assert paused_sub.paused_at is not None
    assert paused_sub.pause_reason
    assert [d.seq for d in await deliveries(sessions, sub)] == [1]
    assert any(f"webhook {sub} paused" in r.getMessage() for r in caplog.records)


async def test_one_failing_receiver_does_not_hold_back_another(sessions: SessionMaker) -> None:
    with receiving() as down, receiving() as up:
        down.always = 500
        await subscribe(sessions, down.url, id="wh_down")
        await subscribe(sessions, up.url, id="wh_up")
        await record(sessions, *(event("TKT-1", seq) for seq in (1, 2, 3)))
        async with dispatching(sessions):
            await eventually(lambda: _count(up, 3))
    assert [e["seq"] for e in up.envelopes()] == [1, 2, 3]
    assert {e["seq"] for e in down.envelopes()} == {1}  # still retrying its first


async def test_a_host_that_is_not_allowed_is_refused_at_delivery(sessions: SessionMaker) -> None:
    config = dataclasses.replace(FAST, allowed_hosts=())  # the default: public hosts only
    with receiving() as receiver:
        sub = await subscribe(sessions, receiver.url)
        await record(sessions, event("TKT-1", 1))
        async with dispatching(sessions, config):

            async def tried() -> bool:
                return bool(await attempts(sessions, sub))

            await eventually(tried)
    assert receiver.requests == []
    error = (await attempts(sessions, sub))[0].error
    assert error is not None
    assert "127.0.0.1" in error
    assert "not a public address" in error


async def _count(receiver: Receiver, n: int) -> bool:
    return len(receiver.requests) >= n


async def _delivered(sessions: SessionMaker, sub: str, n: int) -> bool:
    found = await deliveries(sessions, sub)
    return sum(d.status == DeliveryStatus.DELIVERED for d in found) >= n


async def _scraped(port: int, name: str) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        return name in answer.read().decode()


def test_retries_double_and_stop_at_the_window() -> None:
    config = dataclasses.replace(
        FAST, backoff=timedelta(seconds=1), backoff_max=timedelta(seconds=5),
        retry_window=timedelta(seconds=30),
    )  # fmt: skip
    start = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    delivery = WebhookDelivery(window_started_at=start, attempts=1)
    assert config.retry_at(delivery, start) == start + timedelta(seconds=1)
    delivery.attempts = 3
    assert config.retry_at(delivery, start) == start + timedelta(seconds=4)
    delivery.attempts = 10  # capped by backoff_max
    assert config.retry_at(delivery, start) == start + timedelta(seconds=5)
    late = start + timedelta(seconds=28)  # capped by the end of the window
    assert config.retry_at(delivery, late) == start + timedelta(seconds=30)
    assert config.retry_at(delivery, start + timedelta(seconds=30)) is None
