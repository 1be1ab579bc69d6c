"""Inbound email: validation, threading and quoted-history stripping, as tables."""

# ruff: noqa: RUF001 (the Macedonian mail is Cyrillic on purpose)

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from domain.enums import Channel
from domain.intake.inbound import (
    NO_SUBJECT,
    InboundEmail,
    InvalidInboundSubject,
    Threading,
    idempotency_key,
    normalize_message_id,
    parse_mailbox,
)
from domain.intake.quoting import strip_quoted

DESK = Threading(ticket_prefix="TKT", mail_domain="desk.example")

# -- quoted history ---------------------------------------------------------------------------

GMAIL = """\
Thanks, that fixed it.

On Mon, Nov 23, 2026 at 10:00 AM Support <support@desk.example> wrote:
> Please try the export again.
>
> Alice
"""

GMAIL_WRAPPED = """\
Still broken for me.

On Mon, Nov 23, 2026 at 10:00 AM Ticketflow Support Desk <
support@desk.example> wrote:

> Please try the export again.
"""

OUTLOOK = """\
Here is the file you asked for.

Regards,
Ana

________________________________
From: Support <support@desk.example>
Sent: Monday, November 23, 2026 10:00 AM
To: Ana Novak <ana@example.com>
Subject: [TKT-000001] Export fails

Which file fails?
"""

OUTLOOK_ORIGINAL = """\
Yes, every time.
-----Original Message-----
From: Support <support@desk.example>
Sent: Monday, November 23, 2026 10:00 AM
Does it fail every time?
"""

APPLE_MAIL = """\
It works now, thank you!

Sent from my iPhone

> On 23 Nov 2026, at 10:00, Support <support@desk.example> wrote:
>
> Please try again.
"""

APPLE_MAIL_UNQUOTED_HEADER = """\
It works now.

On 23 Nov 2026, at 10:00, Support <support@desk.example> wrote:

> Please try again.
"""

MALAY = """\
Terima kasih, sudah berjaya.

Pada Isn, 23 Nov 2026 pada 10:00 PG Support <support@desk.example> menulis:
> Sila cuba lagi.
"""

MALAY_OUTLOOK = """\
Fail dilampirkan.

Daripada: Support <support@desk.example>
Dihantar: Isnin, 23 November 2026 10:00 PG
Kepada: Ana <ana@example.com>
"""

MACEDONIAN = """\
Благодарам, сега работи.

На пон, 23 ноем. 2026 во 10:00 Support <support@desk.example> напиша:
> Обидете се повторно.
"""

GERMAN = """\
Danke, jetzt geht es.

Am 23.11.2026 um 10:00 schrieb Support <support@desk.example>:
> Bitte versuchen Sie es erneut.
"""

SIGNATURE = """\
The export still stops at row 5000.

-- \nAna Novak
Head of Finance, Example Ltd
"""

INLINE_QUOTES = """\
> Which browser do you use?
Firefox 120.
> And which file?
report.csv
"""

ONLY_QUOTE = """\
On Mon, Nov 23, 2026 at 10:00 AM Support <support@desk.example> wrote:
> Please try the export again.
"""

FORWARDED = """\
See the message from our bank below.

---------- Forwarded message ---------
From: Bank <noreply@bank.example>
Date: Mon, 23 Nov 2026 at 09:00
Subject: Payment failed

Your payment of 10 EUR failed.
"""

CASES = {
    "gmail": (GMAIL, "Thanks, that fixed it."),
    "gmail header wrapped over two lines": (GMAIL_WRAPPED, "Still broken for me."),
    "outlook from/sent block": (OUTLOOK, "Here is the file you asked for.\n\nRegards,\nAna"),
    "outlook original message": (OUTLOOK_ORIGINAL, "Yes, every time."),
    "apple mail": (APPLE_MAIL, "It works now, thank you!\n\nSent from my iPhone"),
    "apple mail, header not quoted": (APPLE_MAIL_UNQUOTED_HEADER, "It works now."),
    "malay gmail": (MALAY, "Terima kasih, sudah berjaya."),
    "malay outlook": (MALAY_OUTLOOK, "Fail dilampirkan."),
    "macedonian gmail": (MACEDONIAN, "Благодарам, сега работи."),
    "german": (GERMAN, "Danke, jetzt geht es."),
    "signature": (SIGNATURE, "The export still stops at row 5000."),
    "inline quotes": (INLINE_QUOTES, "Firefox 120.\nreport.csv"),
    "only a quote keeps the original": (ONLY_QUOTE, ONLY_QUOTE.strip()),
    "forwarded message is content": (FORWARDED, FORWARDED.strip()),
    "crlf line endings": (GMAIL.replace("\n", "\r\n"), "Thanks, that fixed it."),
    "nothing quoted": ("Just a question.\nTwo lines.", "Just a question.\nTwo lines."),
    "a sentence starting with On is kept": (
        "On Monday the export worked.\nToday it fails.",
        "On Monday the export worked.\nToday it fails.",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_strip_quoted(case: str) -> None:
    text, expected = CASES[case]
    assert strip_quoted(text) == expected


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
    assert request.channel == Channel.EMAIL
    assert request.requester.email == "ana@example.com"
    assert request.requester.name == "Ana Novak"
    assert request.subject == "Export fails"
    assert request.description == "The CSV export stops halfway."
