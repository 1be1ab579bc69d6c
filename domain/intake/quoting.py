"""The customer's new text in an inbound email: quoted history and signatures cut off.

Pure text handling, in the languages we serve; `strip_quoted` is what the API keeps of a
reply before it reaches the ticket.
"""

from __future__ import annotations

import re

# "On <date>, <name> wrote:" in the languages we serve (German puts the name after the verb).
_REPLY_HEADERS = (
    r"On\s.*\swrote",
    r"Pada\s.*\smenulis",
    r"На\s.*\sнапиша",  # noqa: RUF001 (Macedonian: Cyrillic on purpose)
    r"Am\s.*\sschrieb\s.*",
    r"Le\s.*\sa écrit",
    r"El\s.*\sescribió",
    r"Op\s.*\sschreef",
    r"Em\s.*\sescreveu",
)
_REPLY_HEADER = re.compile("^(?:" + "|".join(_REPLY_HEADERS) + r")\s*:\s*$")
_REPLY_HEADER_START = re.compile(
    "^(?:" + "|".join(pattern.split("\\s", 1)[0] for pattern in _REPLY_HEADERS) + r")\s"
)
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


def _is_reply_header(lines: list[str], index: int) -> bool:
    line = lines[index]
    if _REPLY_HEADER.match(line):
        return True
    # Gmail wraps a long header line: "On Mon, ... Support <" / "support@desk.example> wrote:".
    joined = f"{line} {lines[index + 1]}" if index + 1 < len(lines) else ""
    return bool(_REPLY_HEADER_START.match(line) and _REPLY_HEADER.match(joined))


def _is_outlook_block(lines: list[str], index: int) -> bool:
    if not _OUTLOOK_FROM.match(lines[index]):
        return False
    if not any(_OUTLOOK_SENT.match(line) for line in lines[index + 1 : index + 4]):
        return False
    # The same From:/Date: block heads a forwarded message, which is content, not history.
    before = [line for line in lines[:index] if line.strip()]
    return not (before and _FORWARDED.search(before[-1]))


def _history_start(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        if (
            _SIGNATURE.match(line)
            or _ORIGINAL_MESSAGE.match(line)
            or _is_reply_header(lines, index)
            or _is_outlook_block(lines, index)
        ):
            return index
    return len(lines)


def strip_quoted(text: str) -> str:
    """The customer's new text: without `>` lines, and cut at the first reply header,
    `-----Original Message-----`, Outlook `From:`/`Sent:` block or `-- ` signature.

    A message that is nothing but quote keeps its original text: better noisy than empty.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept = [line for line in lines[: _history_start(lines)] if not line.startswith(">")]
    while kept and (not kept[-1].strip() or _SEPARATOR.match(kept[-1])):
        kept.pop()
    new_text = "\n".join(kept).strip("\n")
    return new_text if new_text.strip() else text.strip()
