"""The customer's new text in an inbound email: quoted history and signatures cut off.

Pure text handling, in the languages we serve; `strip_quoted` is what the API keeps of a
reply before it reaches the ticket.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from domain.policy.customer import DEFAULT_REPLY_HEADERS, LanguageRule, merged_language_rules


class ReplyHeaders:
    """The "On <date>, <name> wrote:" lines (one regular expression per line form) that
    start the quoted history: the policy's `language_rules[*].reply_headers`, else ours."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self._patterns = [re.compile(pattern) for pattern in dict.fromkeys(patterns)]

    def match(self, line: str) -> bool:
        return any(pattern.match(line) for pattern in self._patterns)


DEFAULT_HEADERS = ReplyHeaders(
    pattern for patterns in DEFAULT_REPLY_HEADERS.values() for pattern in patterns
)


def reply_headers(language_rules: dict[str, LanguageRule]) -> ReplyHeaders:
    """The reply headers of every language: a customer's mail client may speak another
    language than the ticket."""
    rules = merged_language_rules(language_rules)
    return ReplyHeaders(pattern for rule in rules.values() for pattern in rule.reply_headers)


_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(?:Original Message|Mesej Asal|Оригинална порака|Ursprüngliche Nachricht)"
    r"\s*-{2,}\s*$",
    re.IGNORECASE,
)
_OUTLOOK_FROM = re.compile(r"^\*?(?:From|Von|De|Daripada|Dari|Од)\s*:", re.IGNORECASE)
_OUTLOOK_SENT = re.compile(
    r"^\*?(?:Sent|Date|Gesendet|Envoyé|Enviado|Dihantar|Tarikh|Испратено|Датум)\s*:",
    re.IGNORECASE,
)
_FORWARDED = re.compile(r"forwarded message|begin forwarded|mesej dimajukan", re.IGNORECASE)
_SIGNATURE = re.compile(r"^--\s?$")
_SEPARATOR = re.compile(r"^\s*_{5,}\s*$")


def _is_reply_header(lines: list[str], index: int, headers: ReplyHeaders) -> bool:
    line = lines[index]
    if headers.match(line):
        return True
    # Gmail wraps a long header line: "On Mon, ... Support <" / "support@desk.example> wrote:".
    # (Unless the next line is a header by itself: then the history starts there.)
    if index + 1 >= len(lines) or headers.match(lines[index + 1]):
        return False
    return headers.match(f"{line} {lines[index + 1]}")


def _is_outlook_block(lines: list[str], index: int) -> bool:
    if not _OUTLOOK_FROM.match(lines[index]):
        return False
    if not any(_OUTLOOK_SENT.match(line) for line in lines[index + 1 : index + 4]):
        return False
    # The same From:/Date: block heads a forwarded message, which is content, not history.
    before = [line for line in lines[:index] if line.strip()]
    return not (before and _FORWARDED.search(before[-1]))


def _history_start(lines: list[str], headers: ReplyHeaders) -> int:
    for index, line in enumerate(lines):
        if (
            _SIGNATURE.match(line)
            or _ORIGINAL_MESSAGE.match(line)
            or _is_reply_header(lines, index, headers)
            or _is_outlook_block(lines, index)
        ):
            return index
    return len(lines)


def strip_quoted(text: str, headers: ReplyHeaders = DEFAULT_HEADERS) -> str:
    """The customer's new text: without `>` lines, and cut at the first reply header,
    `-----Original Message-----`, Outlook `From:`/`Sent:` block or `-- ` signature.

    A message that is nothing but quote keeps its original text: better noisy than empty.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start = _history_start(lines, headers)
    kept = [line for line in lines[:start] if not line.startswith(">")]
    while kept and (not kept[-1].strip() or _SEPARATOR.match(kept[-1])):
        kept.pop()
    new_text = "\n".join(kept).strip("\n")
    return new_text if new_text.strip() else text.strip()
