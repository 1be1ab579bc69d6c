"""Every string the API accepts is bounded at the edge to what the store can hold.

The API's own OpenAPI description is walked: every string a request can carry (body
fields, nested models, list items, query, path and header parameters) must be declared
below as stored in a column (and its bound must fit the column), stored only inside a
JSON or Text document, or not stored, with the reason. A new field that is none of
these fails `test_every_request_string_is_declared_and_fits_its_column`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import JSON, Text
from sqlalchemy.orm import InstrumentedAttribute

from api.app import create_app
from api.auth import MAX_AGENT_ID_CHARS, TokenConfigError, parse_tokens
from api.idempotency import MAX_KEY_CHARS, follow_up_key, update_id
from domain.intake.inbound import InvalidInboundSubject, Threading, idempotency_key, parse_mailbox
from domain.ticket.actions import Action
from domain.ticket.change import agent_actor
from domain.ticket.requests import MAX_SUBJECT_CHARS
from store.approval_models import ApprovalRow, LedgerEntry
from store.incident_models import IncidentEventRow, IncidentRow
from store.models import (
    IdempotencyKey,
    InboundMessage,
    OutboxEntry,
    SlaEventRow,
    Ticket,
    TicketEventRow,
    WebhookSubscription,
)
from tests.api.conftest import ALICE, SERVICE, Api, settings_for
from tests.conftest import eventually

Column = InstrumentedAttribute[Any]

STORED: dict[str, tuple[Column, ...]] = {
    "Requester.email": (Ticket.requester_email, OutboxEntry.recipient),
    "Requester.customer_id": (Ticket.customer_id,),
    "Requester.plan": (Ticket.plan,),
    "Requester.language": (Ticket.language,),
    "TicketCreate.subject": (Ticket.subject,),
    "TicketCreate.channel": (Ticket.channel,),
    "TicketCreate.priority": (Ticket.priority, SlaEventRow.priority),
    "TicketCreate.category": (Ticket.category,),
    "AssignBody.agent_id": (Ticket.assignee, Ticket.first_assignee),
    "AssignBody.team": (Ticket.team,),
    "PriorityBody.priority": (Ticket.priority, SlaEventRow.priority),
    "InboundEmail.message_id": (InboundMessage.message_id,),
    "POST /v1/tickets header:idempotency-key": (IdempotencyKey.key,),
    # A follow-up ticket records the ticket it follows, named by the path.
    "path:ticket_id": (Ticket.id, Ticket.related_ticket_id),
    "WebhookCreate.url": (WebhookSubscription.url,),
    "WebhookCreate.secret": (WebhookSubscription.secret,),
    "WebhookPatch.url": (WebhookSubscription.url,),
    "WebhookPatch.secret": (WebhookSubscription.secret,),
    "RefundRequest.currency": (ApprovalRow.currency, LedgerEntry.currency),
    "RefundRequest.kind": (ApprovalRow.kind, LedgerEntry.kind),
    "SettledBody.reference": (ApprovalRow.payment_reference,),
    "IncidentCreate.title": (IncidentRow.title,),
    "IncidentCreate.severity": (IncidentRow.severity,),
    "IncidentCreate.component": (IncidentRow.component,),
    "IncidentCreate.commander": (IncidentRow.commander,),
    "IncidentUpdateBody.status": (IncidentRow.status,),
    "path:incident_id": (IncidentRow.id, Ticket.incident_id),
    "ParentBody.parent_id": (Ticket.parent_id,),
}
"""Request strings written to a column as they are (enums: their longest value)."""

IN_DOCUMENTS: dict[str, tuple[Column, ...]] = {
    "TicketCreate.description": (Ticket.description,),
    # A customer reply to a closed ticket becomes its follow-up's description.
    "ActionBody.body": (Ticket.description, TicketEventRow.data),
    "PriorityBody.reason": (TicketEventRow.data,),
    "EscalateBody.reason": (TicketEventRow.data,),
    "ReasonBody.reason": (TicketEventRow.data,),
    "ResolveBody.resolution": (TicketEventRow.data,),
    "CsatBody.comment": (TicketEventRow.data,),
    "InboundEmail.text": (Ticket.description, TicketEventRow.data),
    "WebhookCreate.event_types[]": (WebhookSubscription.event_types,),
    "WebhookPatch.event_types[]": (WebhookSubscription.event_types,),
    "RefundRequest.reason": (ApprovalRow.reason,),
    "DecisionBody.comment": (ApprovalRow.comment,),
    "IncidentUpdateBody.body": (IncidentEventRow.data, TicketEventRow.data),
    "IncidentResolveBody.resolution": (IncidentRow.resolution, IncidentEventRow.data),
    "ReportBody.body": (IncidentEventRow.data,),
    "DenyBody.comment": (ApprovalRow.comment,),
}
"""Request strings kept only inside JSON or Text documents (still bounded at the edge)."""

NOT_STORED: dict[str, str] = {
    "Requester.name": "kept in the workflow's state (emails greet by it), not in the store",
    "Requester.timezone": "kept in the workflow's state, not in the store",
    "Requester.country": "kept in the workflow's state (it may choose the SLA calendar)",
    "TicketCreate.tags[]": "kept in the workflow's state, not in the store",
    "GET /v1/tickets query:status[]": "a filter",
    "GET /v1/tickets query:priority[]": "a filter",
    "GET /v1/tickets query:team": "a filter",
    "GET /v1/tickets query:assignee": "a filter",
    "GET /v1/tickets query:cursor": "decoded to (created_at, id) for the page query",
    "GET /v1/incidents query:cursor": "decoded to (created_at, id) for the page query",
    "GET /v1/approvals query:cursor": "decoded to (requested_at, id) for the page query",
    "GET /v1/sla/explain query:priority": "a policy lookup",
    "GET /v1/sla/explain query:plan": "a policy lookup",
    "GET /v1/sla/explain query:channel": "a policy lookup",
    "GET /v1/sla/explain query:category": "a policy lookup",
    "GET /v1/sla/explain query:country": "a policy lookup",
    "GET /v1/sla/explain query:timezone": "a policy lookup",
    "GET /v1/metrics/summary query:team": "a filter",
    "GET /v1/metrics/summary query:priority": "a filter",
    "GET /v1/metrics/summary query:channel": "a filter",
    "InboundEmail.from": "parsed into Requester.email and .name, held to their bounds: "
    "test_values_derived_from_an_email_fit",
    "InboundEmail.to[]": "not kept",
    "path:webhook_id": "a subscription's id, looked up",
    "GET /v1/incidents query:status[]": "a filter",
    "IncidentCreate.ticket_ids[]": "tickets looked up and linked (the link stores the incident id)",
    "LinkBody.ticket_ids[]": "tickets looked up and linked (the link stores the incident id)",
    "path:approval_id": "an approval's id (its workflow id), looked up",
    "RefundRequest.amount": "parsed into a Decimal of at most 12 digits (NUMERIC(14, 2))",
    "GET /v1/approvals query:status": "a filter",
    "GET /v1/approvals query:ticket_id": "a filter",
    "POST /v1/tickets/{ticket_id}/refund-requests header:idempotency-key": (
        "the Temporal Update id refund-request:<key>: test_derived_keys_and_ids_fit"
    ),
    "path:token": "a signed survey token, verified and its survey id claimed: "
    "ids the worker signed, which fit CsatResponse's columns",
    "GET /csat/{token} query:score": "parsed as a 1-5 integer score",
    "InboundEmail.subject": "a new ticket's subject only within MAX_SUBJECT_CHARS: "
    "test_values_derived_from_an_email_fit",
    "InboundEmail.in_reply_to": "Message-IDs looked up for threading",
    "InboundEmail.references[]": "Message-IDs looked up for threading",
    "CodecPayload.data": "decoded or encoded and answered, never kept",
    "POST /codec/decode header:x-namespace": "compared with TEMPORAL_NAMESPACE",
    "POST /codec/encode header:x-namespace": "compared with TEMPORAL_NAMESPACE",
    **{
        f"POST /v1/tickets/{{ticket_id}}/{action.value} header:idempotency-key": (
            "the Temporal Update id: test_derived_keys_and_ids_fit"
        )
        for action in Action
    },
}

PARSED_FORMATS = {"date-time", "date"}
"""Strings pydantic turns into fixed-size values before any code sees them."""


class _Walker:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.components: dict[str, Any] = spec["components"]["schemas"]
        self.spec = spec
        self.seen: set[str] = set()

    def request_strings(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(declaration key, schema) of every string a request can carry."""
        for path, operations in self.spec["paths"].items():
            for method, operation in operations.items():
                for param in operation.get("parameters", []):
                    where, name = param["in"], param["name"]
                    if where == "header":
                        name = name.lower()  # HTTP header names are case-insensitive
                    key = (
                        f"path:{name}"
                        if where == "path"
                        else f"{method.upper()} {path} {where}:{name}"
                    )
                    yield from self._strings(key, param["schema"])
                content = operation.get("requestBody", {}).get("content", {})
                for media in content.values():
                    yield from self._strings(f"{method.upper()} {path} body", media["schema"])

    def _strings(self, key: str, schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        if "$ref" in schema:
            name = schema["$ref"].rpartition("/")[2]
            target = self.components[name]
            if "enum" in target:
                yield key, target
            elif name not in self.seen:
                self.seen.add(name)
                for prop, prop_schema in target.get("properties", {}).items():
                    yield from self._strings(f"{name.removesuffix('-Input')}.{prop}", prop_schema)
            return
        for option in schema.get("anyOf", []) + schema.get("oneOf", []):
            yield from self._strings(key, option)
        if schema.get("type") == "array":
            yield from self._strings(f"{key}[]", schema["items"])
        if schema.get("type") == "string" and schema.get("format") not in PARSED_FORMATS:
            yield key, schema


def _bound(schema: dict[str, Any]) -> int | None:
    if "enum" in schema:
        return max(len(str(value)) for value in schema["enum"])
    bound: int | None = schema.get("maxLength")
    return bound


def _request_strings() -> dict[str, list[dict[str, Any]]]:
    app = create_app(settings_for("sqlite+aiosqlite:///:memory:", "unused", 1025))
    found: dict[str, list[dict[str, Any]]] = {}
    for key, schema in _Walker(app.openapi()).request_strings():
        found.setdefault(key, []).append(schema)
    return found


def test_every_request_string_is_declared_and_fits_its_column() -> None:
    found = _request_strings()
    declared = STORED.keys() | IN_DOCUMENTS.keys() | NOT_STORED.keys()
    assert not (STORED.keys() & IN_DOCUMENTS.keys() | STORED.keys() & NOT_STORED.keys())
    problems = [f"{key}: undeclared (stored where?)" for key in sorted(found.keys() - declared)]
    problems += [
        f"{key}: declared but the API has no such input" for key in declared - found.keys()
    ]
    for key, schemas in sorted(found.items()):
        for schema in schemas:
            bound = _bound(schema)
            if bound is None:
                problems.append(f"{key}: no maximum length")
                continue
            for column in STORED.get(key, ()):
                length = getattr(column.type, "length", None)
                if length is None or bound > length:
                    problems.append(f"{key}: up to {bound} characters, {column} holds {length}")
            for column in IN_DOCUMENTS.get(key, ()):
                if not isinstance(column.type, JSON | Text) or getattr(column.type, "length", None):
                    problems.append(
                        f"{key}: {column} is {column.type}, not a JSON or Text document"
                    )
    assert not problems, "\n".join(dict.fromkeys(problems))


def test_the_walk_sees_nested_models_list_items_and_headers() -> None:
    """Guards the walker itself: a walk that found nothing would pass the test above."""
    found = _request_strings()
    assert {
        "Requester.language",
        "TicketCreate.tags[]",
        "InboundEmail.references[]",
        "POST /v1/tickets header:idempotency-key",
        "POST /v1/tickets/{ticket_id}/reply header:idempotency-key",
        "path:ticket_id",
    } <= found.keys()
    assert len(found) == len(STORED) + len(IN_DOCUMENTS) + len(NOT_STORED)


def test_agent_ids_from_tokens_fit_where_they_are_recorded() -> None:
    longest = "a" * MAX_AGENT_ID_CHARS
    for column in (TicketEventRow.actor, Ticket.resolved_by):
        assert len(agent_actor(longest)) <= column.type.length, column
    for column in (Ticket.assignee, Ticket.first_assignee):
        assert column.type.length >= MAX_AGENT_ID_CHARS, column
    assert parse_tokens(f"t:agent:{longest}")["t"].agent_id == longest
    with pytest.raises(TokenConfigError, match="entry 1: an agent id is 1-50"):
        parse_tokens(f"t:agent:{longest}b")
    with pytest.raises(TokenConfigError, match="entry 2: an agent id"):
        parse_tokens("s:service,t:agent:al ice")


def test_derived_keys_and_ids_fit() -> None:
    key_column = IdempotencyKey.key.type.length
    assert key_column >= MAX_KEY_CHARS
    longest_ticket_id = "T" * Ticket.id.type.length
    assert len(follow_up_key(longest_ticket_id, "k" * MAX_KEY_CHARS)) <= key_column
    longest_message_id = "<" + "m" * (InboundMessage.message_id.type.length - 2) + ">"
    assert len(idempotency_key(longest_message_id)) <= key_column
    # Temporal refuses ids over 1000 characters (the server's default limit.maxIDLength).
    for action in Action:
        uid = update_id(action, "k" * MAX_KEY_CHARS)
        assert uid is not None
        assert len(uid) <= 1000


def test_values_derived_from_an_email_fit() -> None:
    assert Ticket.subject.type.length >= MAX_SUBJECT_CHARS
    threading = Threading(ticket_prefix="TKT", mail_domain="desk.example")
    assert len(threading.ticket_subject("Re: " + "x" * MAX_SUBJECT_CHARS)) == MAX_SUBJECT_CHARS
    with pytest.raises(InvalidInboundSubject):
        threading.ticket_subject("Re: " + "x" * (MAX_SUBJECT_CHARS + 1))
    local = "a" * (Ticket.requester_email.type.length - len("@example.com"))
    assert parse_mailbox(f"Ana <{local}@example.com>")[1] == f"{local}@example.com"
    with pytest.raises(ValueError, match="at most 254 characters"):
        parse_mailbox(f"Ana <{local}a@example.com>")
    with pytest.raises(ValueError, match="at most 200 characters"):
        parse_mailbox(f"{'N' * 201} <ana@example.com>")


# -- at the edge, end to end, on every store backend --------------------------------------

LANGUAGE_16 = "zh-Hant-TW-x1234"
LANGUAGE_17 = "zh-Hant-TW-x12345"


def _ticket(**requester: Any) -> dict[str, Any]:
    return {
        "requester": {"email": "ana@example.com", **requester},
        "subject": "Export fails",
        "description": "The CSV export stops halfway.",
        "channel": "email",
    }


@pytest.mark.parametrize(
    ("requester", "field"),
    [
        ({"language": LANGUAGE_17}, "requester.language"),
        ({"customer_id": "c" * 101}, "requester.customer_id"),
        ({"email": "a" * 243 + "@example.com"}, "requester.email"),
        ({"timezone": "Europe/" + "x" * 60}, "requester.timezone"),
    ],
)
async def test_a_value_longer_than_its_column_is_422_naming_the_field(
    api: Api, requester: dict[str, Any], field: str
) -> None:
    response = await api.http.post("/v1/tickets", json=_ticket(**requester), headers=SERVICE)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"].startswith(f"{field}: "), error


async def test_the_longest_language_tag_that_fits_is_stored(api: Api) -> None:
    assert len(LANGUAGE_16) == Ticket.language.type.length
    response = await api.http.post(
        "/v1/tickets", json=_ticket(language=LANGUAGE_16), headers=SERVICE
    )
    assert response.status_code == 201, response.text
    ticket_id = response.json()["id"]

    async def projected() -> bool:
        events = await api.http.get(f"/v1/tickets/{ticket_id}/events", headers=ALICE)
        return events.status_code == 200

    await eventually(projected)
    listed = await api.http.get("/v1/tickets", headers=ALICE)
    assert [t["id"] for t in listed.json()["items"]] == [ticket_id]


async def test_a_path_ticket_id_longer_than_its_column_is_422(api: Api) -> None:
    response = await api.http.post(
        f"/v1/tickets/TKT-{'9' * 40}/customer-reply", json={"body": "x"}, headers=SERVICE
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["message"].startswith("ticket_id: ")
