"""A survey reply's score and comment, or None for an ordinary reply."""

from __future__ import annotations

import pytest

from domain.intake.survey_reply import SurveyAnswer, survey_answer


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("4", SurveyAnswer(4, None)),
        ("  5!  ", SurveyAnswer(5, None)),
        ("3/5", SurveyAnswer(3, None)),
        ("2 of 5\nIt took three days.", SurveyAnswer(2, "It took three days.")),
        ("Score: 1\n\nNobody called back.\n", SurveyAnswer(1, "Nobody called back.")),
        ("Nota: 4", SurveyAnswer(4, None)),
        ("4 sur 5", SurveyAnswer(4, None)),
        ("5 od 5", SurveyAnswer(5, None)),
        ("\n\n4\n", SurveyAnswer(4, None)),
    ],
)
def test_a_score_on_its_own_first_line(text: str, answer: SurveyAnswer) -> None:
    assert survey_answer(text) == answer


@pytest.mark.parametrize(
    "text",
    [
        "",
        "6",
        "0",
        "45",
        "4 files are missing",
        "Invoice 4 is wrong",
        "It still fails\n5",
        "-1",
        "4.5",
    ],
)
def test_anything_else_is_an_ordinary_reply(text: str) -> None:
    assert survey_answer(text) is None


def test_a_long_comment_is_bounded_as_the_csat_route_bounds_it() -> None:
    answer = survey_answer("3\n" + "x" * 5000)
    assert answer is not None
    assert answer.comment is not None
    assert len(answer.comment) == 4000
