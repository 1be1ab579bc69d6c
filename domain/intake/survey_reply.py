"""A reply to the satisfaction survey: a score from 1 to 5, perhaps with a few words.

Pure text handling on the reply's new text (`domain.intake.quoting.strip_quoted` first).
The score is the first line on its own ("4", "4/5", "4 of 5", "5!", "score: 4"); the lines
after it are the comment. Anything else is an ordinary reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_COMMENT_CHARS = 4000
"""As `POST /v1/tickets/{id}/csat` bounds a comment."""

_SCORE_LINE = re.compile(
    r"^\s*(?:[^\W\d_]+\s*[:=-]\s*)?"  # an optional word and colon: "Score:", "Ocena:", "Nota:"
    r"(?P<score>[1-5])"
    r"\s*(?:(?:/|of|out of|od|daripada|sur|de|nga)\s*5)?"  # "/5", "of 5", "od 5", "sur 5", ...
    r"\s*[.!]*\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SurveyAnswer:
    score: int
    comment: str | None


def survey_answer(text: str) -> SurveyAnswer | None:
    """The score and comment in a survey reply's new text, or None if it is not one."""
    lines = text.strip().splitlines()
    if not lines:
        return None
    match = _SCORE_LINE.match(lines[0])
    if match is None:
        return None
    comment = "\n".join(lines[1:]).strip()
    comment = comment[:MAX_COMMENT_CHARS].strip()
    return SurveyAnswer(score=int(match["score"]), comment=comment or None)
