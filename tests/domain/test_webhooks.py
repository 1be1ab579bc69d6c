"""The pure part of webhooks: which hosts may be called, the envelope and its signature."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from domain.enums import EventType
from domain.webhooks import (
    FROM_TIMELINE,
    WebhookEvent,
    envelope_body,
    mask,
    parse_patterns,
    refusal,
    signature,
)

DEV = parse_patterns("127.0.0.1, localhost ,*.internal.example,10.20.0.0/16")


def test_patterns_are_trimmed_lowercased_and_empty_ones_dropped() -> None:
    assert parse_patterns(" A.example,,*.B.example ") == ("a.example", "*.b.example")
    assert parse_patterns("") == ()


@pytest.mark.parametrize(
    ("host", "addresses"),
    [
        ("hooks.example.com", ["93.184.215.14"]),
        ("hooks.example.com", ["2606:2800:21f:cb07:6820:80da:af6b:8b2c"]),
        ("localhost", ["127.0.0.1", "::1"]),  # listed by name
        ("db.internal.example", ["10.0.0.5"]),  # listed by a glob
        ("svc.example", ["10.20.3.4"]),  # resolves into a listed network
        ("127.0.0.1", ["127.0.0.1"]),
    ],
)
def test_public_or_listed_hosts_are_allowed(host: str, addresses: list[str]) -> None:
    assert refusal(host, addresses, DEV) is None


@pytest.mark.parametrize(
    ("host", "addresses"),
    [
        ("rebound.example", ["93.184.215.14", "192.168.1.1"]),  # one private answer is enough
        ("metadata", ["169.254.169.254"]),
        ("svc.example", ["10.30.0.1"]),  # outside the listed network
        ("v6.example", ["fe80::1"]),
        ("v6.example", ["::1"]),
        ("nowhere.example", []),
    ],
)
def test_private_loopback_link_local_or_unresolved_hosts_are_refused(
    host: str, addresses: list[str]
) -> None:
    reason = refusal(host, addresses, DEV)
    assert reason is not None
    assert host in reason


def test_by_default_only_public_hosts() -> None:
    assert refusal("localhost", ["127.0.0.1"], ()) is not None
    assert refusal("hooks.example.com", ["93.184.215.14"], ()) is None


def test_every_webhook_event_comes_from_a_timeline_event() -> None:
    assert set(FROM_TIMELINE.values()) == set(WebhookEvent)
    assert set(FROM_TIMELINE) <= {e.value for e in EventType}


def test_the_signature_is_the_hmac_of_timestamp_dot_body() -> None:
    body = envelope_body(
        id="TKT-1:1",
        type="ticket.created",
        occurred_at=datetime(2026, 11, 30, 9, tzinfo=UTC),
        ticket_id="TKT-1",
        seq=1,
        data={"actor": "system"},
    )
    assert json.loads(body)["occurred_at"] == "2026-11-30T09:00:00+00:00"
    expected = hmac.new(b"s3cret", b"1796032800." + body, hashlib.sha256).hexdigest()
    assert signature("s3cret", 1796032800, body) == f"sha256={expected}"
    assert mask("whsec_abcdefgh") == "…efgh"
