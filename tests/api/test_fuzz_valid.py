"""The fuzz with bodies the validators accept: tickets and inbound emails that really open
tickets, so the 201 and 200 answers are checked against the description too.

test_fuzz.py draws bodies from the OpenAPI description alone, which is looser than the
validators (no email format, no one-line pattern), so nearly every body it sends to
these two routes is refused with a 422. Here Hypothesis builds valid bodies, and
schemathesis fuzzes the rest of each request (the `Idempotency-Key` header) around them.
The harness is in fuzzing.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from domain.policy.vocabulary import Vocabulary
from tests.api.fuzzing import (
    CONFORMANCE,
    OPERATIONS,
    QUIET,
    Fuzzed,
    call_and_check,
    examples,
    fuzzed_fixture,  # noqa: F401 (the `fuzzed` fixture, one per test module)
)

pytestmark = QUIET
EXAMPLES = 100

# Printable text without line breaks or NUL: what one-line fields accept.
_ONE_LINE = st.characters(codec="utf-8", categories=["L", "M", "N", "P", "S", "Zs"])
one_line = st.text(_ONE_LINE, min_size=1, max_size=60).filter(str.strip)
body_text = st.text(
    st.characters(codec="utf-8", exclude_characters="\x00", exclude_categories=["Cs"]),
    min_size=1,
    max_size=500,
).filter(str.strip)
email = st.from_regex(r"\A[a-z0-9]{1,12}(\.[a-z0-9]{1,8})?@[a-z]{1,10}\.example\Z")

requester = st.fixed_dictionaries(
    {"email": email},
    optional={
        "name": one_line,
        "customer_id": one_line,
        "plan": st.sampled_from(Vocabulary().plan_ids),
        "language": st.sampled_from(["en", "de", "pt-BR"]),
        "timezone": st.sampled_from(["UTC", "Europe/Berlin", "America/Sao_Paulo"]),
    },
)
ticket = st.fixed_dictionaries(
    {
        "requester": requester,
        "subject": one_line,
        "description": body_text,
        "channel": st.sampled_from(Vocabulary().channel_ids),
    },
    optional={
        "priority": st.sampled_from(Vocabulary().priority_ids),
        "category": st.from_regex(r"\A[a-z0-9_-]{1,20}\Z"),
        "tags": st.lists(st.from_regex(r"\A[a-z0-9][a-z0-9_.-]{0,20}\Z"), max_size=5),
    },
)


def inbound_email(ticket_ids: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """New emails, and replies that thread to a seeded ticket by its subject tag."""
    tag = st.sampled_from(["", *(f"Re: [{tid}] " for tid in ticket_ids)])
    return st.fixed_dictionaries(
        {
            "from": st.one_of(email, st.builds(lambda n, a: f"{n} <{a}>", st.just("Ana"), email)),
            "to": st.just(["support@desk.example"]),
            "subject": st.builds(lambda t, s: t + s, tag, one_line),
            "text": body_text,
            "message_id": st.builds(lambda a: f"<{a}>", email),
        }
    )


def _fuzz(label: str, bodies: st.SearchStrategy[dict[str, Any]], on: Fuzzed) -> None:
    operation = OPERATIONS[label]

    @examples(EXAMPLES)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        case = data.draw(operation.as_strategy(body=data.draw(bodies)))
        call_and_check(on, case, "service", CONFORMANCE)

    check()


async def test_valid_tickets(fuzzed: Fuzzed) -> None:
    await asyncio.to_thread(_fuzz, "POST /v1/tickets", ticket, fuzzed)
    assert fuzzed.answered["POST /v1/tickets as service"][201] > 0


async def test_valid_inbound_emails(fuzzed: Fuzzed) -> None:
    await asyncio.to_thread(
        _fuzz, "POST /v1/inbound/email", inbound_email(fuzzed.ticket_ids), fuzzed
    )
    answered = fuzzed.answered["POST /v1/inbound/email as service"]
    assert answered[201] > 0  # new tickets
    assert answered[200] > 0  # replies threaded to a seeded ticket
