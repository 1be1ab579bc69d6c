"""Inbound email: validation and threading, as tables (its new text: test_quoting.py)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from domain.intake.inbound import (
    NO_SUBJECT,
    InboundEmail,
    InvalidInboundSubject,
    Threading,
    idempotency_key,
    normalize_message_id,
    parse_mailbox,
)

DESK = Threading(ticket_prefix="TKT", mail_domain="desk.example")

# -- validation ---------------------------------------------------------------------------------


def _email(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "from": "Ana Novak <ana@example.com>",
        "to": ["support@desk.example"],
        "subject": "Export fails",
        "text": "The CSV export stops halfway.",
        "message_id": "<m1@mail.example.com>",
    }
    body.update(overrides)
    return body


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Ana Novak <ana@example.com>", ("Ana Novak", "ana@example.com")),
        ('"Novak, Ana" <ana@example.com>', ("Novak, Ana", "ana@example.com")),
        ("ana@example.com", (None, "ana@example.com")),
        ("<ana@example.com>", (None, "ana@example.com")),
    ],
)
def test_parse_mailbox(value: str, expected: tuple[str | None, str]) -> None:
    assert parse_mailbox(value) == expected


BAD_FIELDS = {
    "two senders": ("from", "ana@example.com, bob@example.com"),
    "no address": ("from", "Ana Novak"),
    "not an address": ("from", "Ana <ana@@example>"),
    "line break in from": ("from", "Ana\r\nBcc: x@example.com <ana@example.com>"),
    "line break in subject": ("subject", "Export\r\nBcc: x@example.com"),
    "text too large": ("text", "x" * (64 * 1024 + 1)),
    "blank text": ("text", "  \n "),
    "message id with spaces": ("message_id", "<a b@mail.example>"),
    "empty message id": ("message_id", "<>"),
    "references not a list or string": ("references", 5),
    "references with a number": ("references", ["<a@x>", 5]),
    "bad recipient": ("to", ["not an address"]),
}


@pytest.mark.parametrize("case", list(BAD_FIELDS))
def test_invalid_fields_name_the_field(case: str) -> None:
    field, value = BAD_FIELDS[case]
    with pytest.raises(ValidationError) as err:
        InboundEmail.model_validate(_email(**{field: value}))
    assert err.value.errors()[0]["loc"][0] == field


def test_message_ids_are_canonical_and_references_accept_a_string_or_a_list() -> None:
    assert normalize_message_id(" m1@mail.example ") == "<m1@mail.example>"
    as_string = InboundEmail.model_validate(
        _email(message_id="m2@x", references="<a@x> <b@x>\r\n <c@x>", in_reply_to="<c@x>")
    )
    as_list = InboundEmail.model_validate(
        _email(message_id="<m2@x>", references=["<a@x>", "<b@x> <c@x>"], in_reply_to="<c@x>")
    )
    assert as_string == as_list
    assert as_string.message_id == "<m2@x>"
    assert as_string.thread_message_ids() == ["<c@x>", "<b@x>", "<a@x>"]
    junk = InboundEmail.model_validate(_email(references="garbage <ok@x> more"))
    assert junk.references == ["<ok@x>"]


def test_idempotency_key_fits_the_column_and_depends_on_the_message_id() -> None:
    key = idempotency_key("<" + "a" * 990 + "@x>")
    assert len(key) <= 200
    assert idempotency_key("<a@x>") != idempotency_key("<b@x>")


# -- threading ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: [TKT-000123] Export fails", ["TKT-000123"]),
        ("AW: SV: [tkt-000123] Export", ["TKT-000123"]),
        ("[TKT-000123] and [TKT-000007]", ["TKT-000123", "TKT-000007"]),
        ("[TKT-000123] again [TKT-000123]", ["TKT-000123"]),
        ("TKT-000123 without brackets", []),
        ("[ABC-000123] another desk", []),
        ("[TKT-] no digits", []),
    ],
)
def test_tags(subject: str, expected: list[str]) -> None:
    assert DESK.tags(subject) == expected


def test_the_tag_prefix_is_configurable() -> None:
    desk = Threading(ticket_prefix="HELP", mail_domain="desk.example")
    assert desk.tags("Re: [HELP-000042] x [TKT-000001]") == ["HELP-000042"]


@pytest.mark.parametrize(
    ("message_id", "expected"),
    [
        ("<TKT-000001.3.agent_reply@desk.example>", "TKT-000001"),
        ("<TKT-000042.1.acknowledgment@DESK.example>", "TKT-000042"),
        ("<TKT-000001.3.agent_reply@other.example>", None),
        ("<TKT-000001.agent_reply@desk.example>", None),
        ("<CAFE1234@mail.gmail.com>", None),
        ("<HELP-000001.3.agent_reply@desk.example>", None),
    ],
)
def test_ticket_of_our_message_ids(message_id: str, expected: str | None) -> None:
    assert DESK.ticket_of_message_id(message_id) == expected


def test_candidates_are_tags_then_nearest_references_first() -> None:
    mail = InboundEmail.model_validate(
        _email(
            subject="Re: [TKT-000009] Export",
            in_reply_to="<TKT-000002.5.agent_reply@desk.example>",
            references=[
                "<TKT-000001.1.acknowledgment@desk.example>",
                "<customer-first@mail.example>",
                "<TKT-000002.5.agent_reply@desk.example>",
                "<unrelated@mail.example>",
            ],
        )
    )
    known = {"<customer-first@mail.example>": "TKT-000003"}
    assert DESK.candidates(mail, known) == ["TKT-000009", "TKT-000002", "TKT-000003", "TKT-000001"]
    untagged = mail.model_copy(update={"subject": "Re: Export"})
    assert DESK.candidates(untagged, {}) == ["TKT-000002", "TKT-000001"]


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: Fwd: AW: SV: Export fails", "Export fails"),
        ("RE[2]: Export fails", "Export fails"),
        ("Re: [TKT-999999] Export  fails", "Export fails"),
        ("Re:", NO_SUBJECT),
        ("", NO_SUBJECT),
        ("Regarding the export", "Regarding the export"),
        ("Re: " + "x" * 200, "x" * 200),
    ],
)
def test_ticket_subject(subject: str, expected: str) -> None:
    assert DESK.ticket_subject(subject) == expected


def test_ticket_subject_over_200_chars_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidInboundSubject, match=r"^subject: ") as err:
        DESK.ticket_subject("Re: " + "x" * 201)
    assert err.value.status_code == 422


def test_new_ticket_from_an_email() -> None:
    mail = InboundEmail.model_validate(_email(subject="Fwd: Export fails"))
    request = DESK.new_ticket(mail, description="The CSV export stops halfway.")
    assert request.channel == "email"
    assert request.requester.email == "ana@example.com"
    assert request.requester.name == "Ana Novak"
    assert request.subject == "Export fails"
    assert request.description == "The CSV export stops halfway."
