"""Webhooks, the pure part: event types, the envelope, its signature, the allowed hosts.

No I/O: resolving a host is the caller's (the API at subscription time, the delivery at
send time); `refusal` only judges the addresses it is given.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import ipaddress
import json
from datetime import datetime
from enum import StrEnum
from typing import Any


class WebhookEvent(StrEnum):
    TICKET_CREATED = "ticket.created"
    TICKET_STATUS_CHANGED = "ticket.status_changed"
    TICKET_ASSIGNED = "ticket.assigned"
    TICKET_REPLIED = "ticket.replied"
    TICKET_ESCALATED = "ticket.escalated"
    SLA_AT_RISK = "sla.at_risk"
    SLA_BREACHED = "sla.breached"
    SLA_MET = "sla.met"
    CSAT_RECEIVED = "csat.received"
    INCIDENT_UPDATED = "incident.updated"
    """A major incident's public update reached a linked ticket (one per ticket)."""


# Timeline event type (`domain.enums.EventType` values) -> the webhook event it is. One
# timeline event is at most one webhook event, so `<ticket>:<seq>` identifies it.
FROM_TIMELINE: dict[str, WebhookEvent] = {
    "created": WebhookEvent.TICKET_CREATED,
    "status_changed": WebhookEvent.TICKET_STATUS_CHANGED,
    "assigned": WebhookEvent.TICKET_ASSIGNED,
    "agent_reply": WebhookEvent.TICKET_REPLIED,
    "customer_reply": WebhookEvent.TICKET_REPLIED,
    "escalated": WebhookEvent.TICKET_ESCALATED,
    "sla_at_risk": WebhookEvent.SLA_AT_RISK,
    "sla_breached": WebhookEvent.SLA_BREACHED,
    "sla_met": WebhookEvent.SLA_MET,
    "csat_received": WebhookEvent.CSAT_RECEIVED,
    "incident_update": WebhookEvent.INCIDENT_UPDATED,
}

TIMESTAMP_HEADER = "X-Ticketflow-Timestamp"
SIGNATURE_HEADER = "X-Ticketflow-Signature"


def event_id(ticket_id: str, seq: int) -> str:
    """The envelope's `id`: the same for every subscription and every attempt."""
    return f"{ticket_id}:{seq}"


def envelope_body(
    *,
    id: str,
    type: str,
    occurred_at: datetime,
    ticket_id: str,
    seq: int,
    data: dict[str, Any],
) -> bytes:
    """The JSON body sent (compact, keys sorted: the same bytes on every attempt)."""
    envelope = {
        "id": id,
        "type": type,
        "occurred_at": occurred_at.isoformat(),
        "ticket_id": ticket_id,
        "seq": seq,
        "data": data,
    }
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True, default=str).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` with the subscription's secret."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def mask(secret: str) -> str:
    """What a secret looks like after its creation: its last four characters."""
    return f"…{secret[-4:]}"


# -- allowed hosts -------------------------------------------------------------------------


def parse_patterns(spec: str) -> tuple[str, ...]:
    """`TICKETFLOW_WEBHOOK_ALLOWED_HOSTS`: comma-separated host names (`*` globs), addresses
    or networks (`10.0.0.0/8`) that may be reached even though they are not public."""
    return tuple(p.strip().lower() for p in spec.split(",") if p.strip())


def _in_network(address: str, pattern: str) -> bool:
    try:
        network = ipaddress.ip_network(pattern, strict=False)
        return ipaddress.ip_address(address) in network
    except ValueError:
        return False


def host_listed(host: str, patterns: tuple[str, ...]) -> bool:
    host = host.lower().strip("[]").rstrip(".")
    return any(fnmatch.fnmatchcase(host, p) or _in_network(host, p) for p in patterns)


def refusal(host: str, addresses: list[str], patterns: tuple[str, ...]) -> str | None:
    """Why `host` (resolving to `addresses`) may not be called, or None. A listed host may
    resolve anywhere; any other must resolve only to public (global) addresses."""
    if host_listed(host, patterns):
        return None
    if not addresses:
        return f"{host} does not resolve"
    for address in addresses:
        if any(_in_network(address, p) for p in patterns):
            continue
        if not ipaddress.ip_address(address.split("%")[0]).is_global:
            return (
                f"{host} resolves to {address}, which is not a public address "
                "(list it in TICKETFLOW_WEBHOOK_ALLOWED_HOSTS to allow it)"
            )
    return None
