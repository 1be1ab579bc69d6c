"""Keywords of a ticket's subject: what incident suggestions cluster tickets by (in SQL).

Lower-cased words of at least three letters, minus common words; at most `MAX_KEYWORDS`."""

from __future__ import annotations

import re

MAX_KEYWORDS = 12
KEYWORD_CHARS = 40
_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
STOP_WORDS = frozenset(
    [
        "the",
        "and",
        "for",
        "not",
        "can",
        "you",
        "are",
        "but",
        "was",
        "has",
        "our",
        "any",
        "all",
        "get",
        "out",
        "why",
        "how",
        "its",
        "about",
        "after",
        "again",
        "also",
        "been",
        "before",
        "being",
        "cannot",
        "could",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "from",
        "have",
        "having",
        "help",
        "here",
        "into",
        "just",
        "know",
        "like",
        "make",
        "more",
        "most",
        "need",
        "needs",
        "only",
        "other",
        "please",
        "same",
        "should",
        "since",
        "some",
        "still",
        "than",
        "that",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "today",
        "very",
        "want",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "will",
        "with",
        "without",
        "would",
        "your",
        "yours",
        "issue",
        "problem",
        "hello",
        "thanks",
        "thank",
        "urgent",
        "getting",
        "working",
        "work",
        "cant",
        "dont",
    ]
)


def subject_keywords(subject: str) -> list[str]:
    words: list[str] = []
    for match in _WORD.finditer(subject.lower()):
        word = match.group()[:KEYWORD_CHARS]
        if word not in STOP_WORDS and word not in words:
            words.append(word)
        if len(words) == MAX_KEYWORDS:
            break
    return words
