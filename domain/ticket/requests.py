"""What callers send to open and act on a ticket: the requester, the new ticket, an action's
text. Every string is bounded here, at the edge, to what the store can hold."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from domain.enums import ChannelId, CountryCode, LanguageTag, PlanId, PriorityId

# Every string a request carries is bounded here, at the edge, to what the store can hold
# (tests/api/test_input_bounds.py checks each bound against its column in store/models.py).
MAX_SUBJECT_CHARS = 200
MAX_NAME_CHARS = 200
MAX_BODY_BYTES = 64 * 1024
MAX_EMAIL_CHARS = 254
MAX_CUSTOMER_ID_CHARS = 100
# A language tag's bound (16) is `domain.enums.MAX_LANGUAGE_CHARS`, with its shape.
MAX_TIMEZONE_CHARS = 64
MAX_CATEGORY_CHARS = 50
_EMAIL_RE = re.compile(
    r"^[^@\s<>\"',;:()\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)


def _single_line(value: str) -> str:
    """Refuse any control character: a CR/LF here would reach an email header."""
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValueError("must not contain control characters (such as line breaks)")
    value = value.strip()
    if not value:
        raise ValueError("must not be blank")
    return value


def _email(value: str) -> str:
    value = value.strip()
    if len(value) > 254 or not _EMAIL_RE.match(value):
        raise ValueError("is not a valid email address")
    return value


def _body(value: str) -> str:
    if len(value.encode()) > MAX_BODY_BYTES:
        raise ValueError(f"must be at most {MAX_BODY_BYTES} bytes")
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _timezone(value: str) -> str:
    # Validated against the tz database without importing zoneinfo in the
    # sandbox at call time: zoneinfo reads files, so keep it to API input.
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError("is not a known IANA time zone") from err
    return value


SingleLine = Annotated[str, Field(max_length=MAX_SUBJECT_CHARS), AfterValidator(_single_line)]
ShortName = Annotated[str, Field(max_length=MAX_NAME_CHARS), AfterValidator(_single_line)]
EmailAddress = Annotated[str, Field(max_length=MAX_EMAIL_CHARS), AfterValidator(_email)]
# A character is at least one byte: the character bound shows in the schema, `_body` is exact.
Body = Annotated[str, Field(max_length=MAX_BODY_BYTES), AfterValidator(_body)]
TimeZoneName = Annotated[str, Field(max_length=MAX_TIMEZONE_CHARS), AfterValidator(_timezone)]

Tag = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]


class Requester(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    email: EmailAddress
    name: ShortName | None = None
    customer_id: (
        Annotated[str, Field(max_length=MAX_CUSTOMER_ID_CHARS), AfterValidator(_single_line)] | None
    ) = None
    plan: PlanId = "starter"
    """One of the policy's plans; when left out, the policy's first plan (see `admit`)."""
    language: LanguageTag = "en"
    timezone: TimeZoneName | None = None
    country: CountryCode | None = None
    """ISO 3166-1 alpha-2; an SLA policy's `calendar_by_country` may pick the calendar by it."""


class TicketCreate(BaseModel):
    """The body of `POST /v1/tickets`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requester: Requester
    subject: SingleLine
    description: Body
    channel: ChannelId
    priority: PriorityId | None = None
    category: (
        Annotated[str, Field(max_length=MAX_CATEGORY_CHARS, pattern=r"^[a-z0-9_-]+$")] | None
    ) = None
    tags: Annotated[list[Tag], Field(max_length=20)] = []


class ActionBody(BaseModel):
    """`{"body"}` of reply, note, request-info and customer-reply."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    body: Body
