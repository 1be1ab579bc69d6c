"""The customer's new text in a reply: quoted history and signatures cut off, per mail client
and language, as a table."""

# ruff: noqa: RUF001 (the Macedonian mail is Cyrillic on purpose)

from __future__ import annotations

import pytest

from domain.intake.quoting import reply_headers, strip_quoted
from domain.policy.customer import LanguageRule

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


def test_a_desks_reply_headers_replace_the_defaults_of_their_language() -> None:
    rules = {"es": LanguageRule(reply_headers=[r"^El .* escribió:\s*$", r"^Enviado desde .*$"])}
    text = "Sigue sin funcionar.\n\nEnviado desde mi teléfono\n> hola"
    assert strip_quoted(text, reply_headers(rules)) == "Sigue sin funcionar."
    assert strip_quoted(text) == "Sigue sin funcionar.\n\nEnviado desde mi teléfono"
    # The other languages keep their defaults.
    english = "Still broken.\n\nOn Mon, 30 Nov 2026, Support wrote:\n> Fixed?"
    assert strip_quoted(english, reply_headers(rules)) == "Still broken."
