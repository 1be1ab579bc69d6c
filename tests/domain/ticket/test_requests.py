"""Validation of what reaches a ticket: nothing here may smuggle a header into an email."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from domain.ticket.requests import MAX_BODY_BYTES, ActionBody, TicketCreate


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "requester": {"email": "ana@example.com"},
        "subject": "Invoice missing",
        "description": "Where is it?",
        "channel": "email",
    }
    body.update(overrides)
    return body


def test_minimal_ticket_gets_defaults() -> None:
    ticket = TicketCreate.model_validate(_body())
    assert (ticket.priority, ticket.category, ticket.tags) == (None, None, [])
    assert (ticket.requester.plan, ticket.requester.language) == ("starter", "en")


@pytest.mark.parametrize(
    "subject",
    ["a\r\nBcc: x@example.com", "tab\there", "nul\x00", "del\x7f", "   ", "x" * 201],
)
def test_subject_refuses_control_characters_blank_and_length(subject: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TicketCreate.model_validate(_body(subject=subject))
    assert caught.value.errors()[0]["loc"] == ("subject",)


def test_subject_of_exactly_200_characters_and_unicode_is_fine() -> None:
    assert len(TicketCreate.model_validate(_body(subject="ж" * 200)).subject) == 200


@pytest.mark.parametrize("name", ["Eve\nBcc: x@example.com", "Eve\rX"])
def test_requester_name_refuses_line_breaks(name: str) -> None:
    with pytest.raises(ValidationError):
        TicketCreate.model_validate(_body(requester={"email": "a@example.com", "name": name}))


@pytest.mark.parametrize(
    "email", ["plain", "a@b", "a b@example.com", "a@example.com\r\nBcc: x@y.z", "<a@example.com>"]
)
def test_requester_email_must_be_one_address(email: str) -> None:
    with pytest.raises(ValidationError):
        TicketCreate.model_validate(_body(requester={"email": email}))


def test_description_limit_is_64_kib_in_bytes() -> None:
    TicketCreate.model_validate(_body(description="x" * MAX_BODY_BYTES))
    with pytest.raises(ValidationError):
        # 2-byte characters: under the limit in characters, over it in bytes.
        TicketCreate.model_validate(_body(description="é" * (MAX_BODY_BYTES // 2 + 1)))


def test_timezone_and_language_are_checked() -> None:
    ok = TicketCreate.model_validate(
        _body(
            requester={"email": "a@example.com", "timezone": "Asia/Kuala_Lumpur", "language": "ms"}
        )
    )
    assert ok.requester.timezone == "Asia/Kuala_Lumpur"
    with pytest.raises(ValidationError):
        TicketCreate.model_validate(
            _body(requester={"email": "a@example.com", "timezone": "Mars/Base"})
        )
    with pytest.raises(ValidationError):
        TicketCreate.model_validate(_body(requester={"email": "a@example.com", "language": "EN!"}))


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError):
        TicketCreate.model_validate(_body(assignee="alice"))


def test_action_body_must_not_be_blank() -> None:
    with pytest.raises(ValidationError):
        ActionBody.model_validate({"body": " \n "})
