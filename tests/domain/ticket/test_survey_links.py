"""Signed one-click survey links: what the worker signs, the API accepts, and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.ticket.survey_links import (
    SurveyLinkExpired,
    SurveyLinkRefused,
    SurveyToken,
    score_links,
    sign,
    verify,
)

SECRET = b"a secret of the desk"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
TOKEN = SurveyToken(ticket_id="TKT-000042", seq=17, expires_at=NOW + timedelta(days=7))


def test_a_signed_token_verifies_to_what_was_signed() -> None:
    assert verify(SECRET, sign(SECRET, TOKEN), NOW) == TOKEN
    assert TOKEN.survey_id == "TKT-000042/17"


def test_the_links_carry_one_token_and_each_score() -> None:
    links = score_links("https://api.desk.example/", SECRET, TOKEN)
    assert [score for score, _ in links] == [1, 2, 3, 4, 5]
    token = sign(SECRET, TOKEN)
    assert links[3][1] == f"https://api.desk.example/csat/{token}?score=4"


def test_another_secret_is_refused() -> None:
    with pytest.raises(SurveyLinkRefused):
        verify(b"another secret", sign(SECRET, TOKEN), NOW)


def test_a_token_is_refused_at_its_expiry_and_says_whose_it_was() -> None:
    text = sign(SECRET, TOKEN)
    assert verify(SECRET, text, TOKEN.expires_at - timedelta(seconds=1)) == TOKEN
    with pytest.raises(SurveyLinkExpired) as refused:
        verify(SECRET, text, TOKEN.expires_at)
    assert refused.value.token == TOKEN


@given(st.integers(min_value=0), st.characters(codec="ascii", categories=["L", "N"]))
def test_any_changed_character_is_refused(position: int, replacement: str) -> None:
    text = sign(SECRET, TOKEN)
    index = position % len(text)
    if text[index] == replacement:
        return
    tampered = text[:index] + replacement + text[index + 1 :]
    with pytest.raises(SurveyLinkRefused):
        verify(SECRET, tampered, NOW)


@pytest.mark.parametrize("text", ["", ".", "abc", "abc.def", "x" * 300, "a.b.c", "%%%.%%%"])
def test_malformed_tokens_are_refused(text: str) -> None:
    with pytest.raises(SurveyLinkRefused):
        verify(SECRET, text, NOW)
