"""Inbound email: the gateway's parsed message and which ticket it threads to (its new
text: `domain.intake.quoting`).

Pure code (no I/O): the API decides with it; the store only remembers Message-IDs.
Invariant: a Message-ID is always held in its canonical `<id>` form, so `x@y` and
`<x@y>` are the same email for deduplication and threading.
"""

from __future__ import annotations

import email.utils
import hashlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
)

from domain.errors import DomainError
from domain.intake.senders import NotThreaded
from domain.ticket.requests import (
    MAX_SUBJECT_CHARS,
    Body,
    EmailAddress,
    Requester,
    ShortName,
    TicketCreate,
)

MAX_HEADER_CHARS = 998
"""RFC 5322's line limit: no single header value we accept is longer."""
MAX_REFERENCES = 1000
MAX_HEADERS = 50
NO_SUBJECT = "(no subject)"


class InboundOutcome(StrEnum):
    CREATED = "created"
    THREADED = "threaded"
    FOLLOW_UP = "follow_up"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"
    """A reply from a sender not on its ticket, opened apart and unacknowledged for review."""
    REJECTED = "rejected"
    """A reply from a sender not on its ticket, dropped (`inbound.unknown_sender: reject`)."""
    IGNORED = "ignored"
    """Automatic mail (auto-reply, bulk, our own): nothing is created or sent."""
    RATED = "rated"
    """A reply to the satisfaction survey with a score: recorded on its ticket, no ticket opened."""


class InboundInProgress(DomainError):
    """The same Message-ID is being handled by another request right now: retry later."""

    status_code = 409
    code = "in_progress"


class InvalidInboundSubject(DomainError):
    """A subject that cannot become a new ticket's subject (known only once threading failed)."""

    status_code = 422
    code = "validation_error"


# -- addresses and Message-IDs --------------------------------------------------------------

_ADDRESS = TypeAdapter(EmailAddress)
_NAME = TypeAdapter(ShortName)


def _no_controls(value: str) -> str:
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValueError("must not contain control characters (such as line breaks)")
    return value.strip()


def parse_mailbox(value: str) -> tuple[str | None, str]:
    """`Name <addr>` or `addr` → (name or None, addr); exactly one address, or ValueError."""
    _no_controls(value)
    parsed = [(name, addr) for name, addr in email.utils.getaddresses([value]) if name or addr]
    if len(parsed) != 1 or not parsed[0][1]:
        raise ValueError("must be exactly one address, such as 'Ana <ana@example.com>'")
    name, addr = parsed[0]
    try:
        address = _ADDRESS.validate_python(addr)
        display = _NAME.validate_python(name) if name.strip() else None
    except ValidationError as err:
        raise ValueError(err.errors()[0]["msg"].removeprefix("Value error, ")) from err
    return display, address


def _mailbox(value: str) -> str:
    parse_mailbox(value)
    return value.strip()


_ID_IN_ANGLES = re.compile(r"<([!-;=?-~]+)>")
"""`<`, one or more printable ASCII characters but `<` and `>`, `>`."""


def _is_id_token(token: str) -> bool:
    return bool(token) and all(33 <= ord(ch) <= 126 and ch not in "<>" for ch in token)


def normalize_message_id(value: str) -> str:
    """`x@y` or `<x@y>` → `<x@y>`; refuses anything that is not one printable-ASCII token."""
    token = value.strip()
    if token.startswith("<") and token.endswith(">"):
        token = token[1:-1]
    if not _is_id_token(token):
        raise ValueError("must be one Message-ID such as '<abc@mail.example>'")
    return f"<{token}>"


def message_ids_in(value: str) -> list[str]:
    """Every well-formed Message-ID in a header value; junk between them is ignored."""
    found = [f"<{inner}>" for inner in _ID_IN_ANGLES.findall(value)]
    if found:
        return found
    return [f"<{token}>" for token in value.split() if "@" in token and _is_id_token(token)]


def _references(value: Any) -> Any:
    """A space-separated string or a list of strings (each may hold several ids)."""
    if isinstance(value, str):
        if len(value) > MAX_REFERENCES * MAX_HEADER_CHARS:
            raise ValueError("is too long")
        return message_ids_in(value)
    if isinstance(value, list):
        # Non-strings stay, for the item validation to refuse them by position.
        return [mid for v in value for mid in (message_ids_in(v) if isinstance(v, str) else [v])]
    return value


HeaderText = Annotated[str, Field(max_length=MAX_HEADER_CHARS), AfterValidator(_no_controls)]
Mailbox = Annotated[str, Field(max_length=MAX_HEADER_CHARS), AfterValidator(_mailbox)]
MessageId = Annotated[str, Field(max_length=MAX_HEADER_CHARS), AfterValidator(normalize_message_id)]


class InboundEmail(BaseModel):
    """The body of `POST /v1/inbound/email`: one email, already parsed by the mail gateway."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    sender: Mailbox = Field(alias="from")
    to: Annotated[list[Mailbox], Field(max_length=100)]
    subject: HeaderText
    text: Body
    message_id: MessageId
    in_reply_to: Annotated[str, Field(max_length=16 * MAX_HEADER_CHARS)] | None = None
    references: Annotated[
        list[MessageId], BeforeValidator(_references), Field(max_length=MAX_REFERENCES)
    ] = []
    headers: Annotated[
        dict[Annotated[str, Field(min_length=1, max_length=76)], HeaderText],
        Field(max_length=MAX_HEADERS),
    ] = Field(
        default={},
        description="Raw headers the sender check reads, e.g. "
        '`{"Auto-Submitted": "auto-replied", "Precedence": "bulk"}`',
    )

    def thread_message_ids(self) -> list[str]:
        """Ids this email answers, nearest first: In-Reply-To, then References newest first."""
        parents = message_ids_in(self.in_reply_to or "")
        ordered = [*parents, *reversed(self.references)]
        return [mid for mid in dict.fromkeys(ordered) if mid != self.message_id]


def idempotency_key(message_id: str) -> str:
    """The `Idempotency-Key` of the ticket an email creates: a retried intake starts nothing new."""
    return "inbound-email:" + hashlib.sha256(message_id.encode()).hexdigest()


# -- threading -------------------------------------------------------------------------------

_REPLY_PREFIX = re.compile(
    r"^\s*(?:re|fwd?|aw|sv|wg|antw|balas|одг)\s*(?:\[\d+\]|\(\d+\))?\s*:\s*", re.IGNORECASE
)


@dataclass(frozen=True)
class Threading:
    """How an email finds its ticket: `[PREFIX-123]` in the subject, or a Message-ID it answers."""

    ticket_prefix: str
    mail_domain: str

    def _tag(self) -> re.Pattern[str]:
        return re.compile(rf"\[\s*{re.escape(self.ticket_prefix)}-(\d+)\s*\]", re.IGNORECASE)

    def tags(self, subject: str) -> list[str]:
        """Ticket ids tagged in the subject, in order of appearance."""
        ids = [f"{self.ticket_prefix}-{digits}" for digits in self._tag().findall(subject)]
        return list(dict.fromkeys(ids))

    def ticket_of_message_id(self, message_id: str) -> str | None:
        """The ticket of one of our outgoing Message-IDs (`<TKT-000001.3.template@domain>`)."""
        pattern = rf"<{re.escape(self.ticket_prefix)}-(\d+)\.\d+\.[A-Za-z0-9_-]+@([^<>\s]+)>"
        match = re.fullmatch(pattern, message_id, re.IGNORECASE)
        if match is None or match.group(2).lower() != self.mail_domain.lower():
            return None
        return f"{self.ticket_prefix}-{match.group(1)}"

    def answers_survey(self, mail: InboundEmail, ticket_id: str) -> bool:
        """Whether `mail` replies to the satisfaction survey of `ticket_id`."""
        for message_id in mail.thread_message_ids():
            if self.ticket_of_message_id(message_id) == ticket_id and ".csat_survey@" in message_id:
                return True
        return False

    def candidates(self, mail: InboundEmail, known: Mapping[str, str]) -> list[str]:
        """Tickets to try, best first; `known` maps earlier inbound Message-IDs to their ticket."""
        found = self.tags(mail.subject)
        for message_id in mail.thread_message_ids():
            ticket_id = self.ticket_of_message_id(message_id) or known.get(message_id)
            if ticket_id is not None:
                found.append(ticket_id)
        return list(dict.fromkeys(found))

    def ticket_subject(self, subject: str) -> str:
        """The subject without `Re:`/`Fwd:`-style prefixes or ticket tags, at most 200 chars."""
        cleaned = self._tag().sub(" ", subject)
        while (match := _REPLY_PREFIX.match(cleaned)) is not None:
            cleaned = cleaned[match.end() :]
        cleaned = " ".join(cleaned.split())
        if len(cleaned) > MAX_SUBJECT_CHARS:
            raise InvalidInboundSubject(
                f"subject: must be at most {MAX_SUBJECT_CHARS} characters "
                "without Re:/Fwd: prefixes to open a ticket"
            )
        return cleaned or NO_SUBJECT

    def new_ticket(
        self, mail: InboundEmail, description: str, tags: list[str] | None = None
    ) -> TicketCreate:
        name, address = parse_mailbox(mail.sender)
        return TicketCreate(
            requester=Requester(email=address, name=name),
            subject=self.ticket_subject(mail.subject),
            description=description,
            channel="email",
            tags=tags or [],
        )


class InboundResult(BaseModel):
    ticket_id: str | None = Field(
        default=None, description="Absent when the email landed on no ticket (rejected, ignored)"
    )
    outcome: InboundOutcome
    reason: NotThreaded | None = Field(
        default=None, description="Why the email did not land where it claimed to belong"
    )
