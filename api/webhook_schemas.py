"""HTTP shapes of `/v1/webhooks`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from domain.webhooks import WebhookEvent
from store.webhook_models import SECRET_CHARS, URL_CHARS

Url = Annotated[
    str,
    Field(
        min_length=10,
        max_length=URL_CHARS,
        pattern=r"^https?://[^\s]+$",
        description="http(s) URL the events are POSTed to; its host is checked against "
        "TICKETFLOW_WEBHOOK_ALLOWED_HOSTS",
    ),
]
Secret = Annotated[
    str,
    Field(
        min_length=16,
        max_length=SECRET_CHARS,
        pattern=r"^[\x21-\x7e]+$",
        description="the HMAC key (printable ASCII, no spaces); generated when left out",
    ),
]
EventTypes = Annotated[list[WebhookEvent], Field(min_length=1, max_length=len(WebhookEvent))]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WebhookCreate(_Body):
    url: Url
    secret: Secret | None = None
    event_types: EventTypes = Field(default_factory=lambda: list(WebhookEvent))
    active: bool = True


class WebhookPatch(_Body):
    """Only the fields given change; `active: true` resumes a paused subscription."""

    url: Url | None = None
    secret: Secret | None = None
    event_types: EventTypes | None = None
    active: bool | None = None


class WebhookOut(BaseModel):
    id: str
    url: str
    secret: str = Field(
        description="in clear only in the answer that set it (create, or a PATCH with a "
        "secret); masked (`…abcd`) everywhere else"
    )
    event_types: list[str]
    active: bool
    created_at: datetime
    updated_at: datetime
    failing_since: datetime | None
    paused_at: datetime | None
    pause_reason: str | None


class AttemptOut(BaseModel):
    at: datetime
    status_code: int | None = Field(description="the receiver's HTTP status; none if no answer")
    latency_ms: int
    error: str | None


class DeliveryOut(BaseModel):
    id: int
    event_id: str
    type: str
    ticket_id: str
    seq: int
    status: str = Field(description="pending, sending, delivered, failed or unconfirmed")
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_error: str | None
    attempt_log: list[AttemptOut] = Field(description="every attempt, oldest first")
