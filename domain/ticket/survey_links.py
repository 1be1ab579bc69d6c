"""One-click survey links: `GET /csat/{token}?score=N`, no bearer token needed.

A token names one survey (the ticket and the seq of its `csat_requested` event) and when
it expires, signed with HMAC-SHA256 under the desk's secret (`TICKETFLOW_CSAT_SECRET`).
The email activity signs (the secret never enters a workflow's history); the API
verifies. The score is the link's query parameter: whoever holds the token may pick any
score, as the survey asks. Single use is the store's (`store.csat`): a token is claimed
once. Pure: no clock reads (the caller passes `now`), no I/O.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

from domain.errors import DomainError

SCORES = (1, 2, 3, 4, 5)
_SIGNATURE_BYTES = 16
"""128 bits of HMAC-SHA256: far beyond guessing, and the link stays short."""


class SurveyLinkRefused(DomainError):
    """A survey link that is forged, malformed or expired."""

    status_code = 403
    code = "invalid_survey_link"


class SurveyLinkExpired(SurveyLinkRefused):
    """A genuine link past its time: `token` says whose (the page speaks their language)."""

    status_code = 410
    code = "survey_link_expired"

    def __init__(self, message: str, token: SurveyToken) -> None:
        super().__init__(message)
        self.token = token


@dataclass(frozen=True)
class SurveyToken:
    ticket_id: str
    seq: int
    expires_at: datetime

    @property
    def survey_id(self) -> str:
        """What single use is keyed by: one survey of one ticket."""
        return f"{self.ticket_id}/{self.seq}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: bytes, payload: str) -> bytes:
    mac = hmac.new(secret, b"ticketflow-csat-v1:" + payload.encode(), hashlib.sha256)
    return mac.digest()[:_SIGNATURE_BYTES]


def sign(secret: bytes, token: SurveyToken) -> str:
    """The token of one survey: `<payload>.<signature>`, URL-safe."""
    expires = int(token.expires_at.timestamp())
    payload = _b64(f"{token.ticket_id}|{token.seq}|{expires}".encode())
    return f"{payload}.{_b64(_signature(secret, payload))}"


def verify(secret: bytes, text: str, now: datetime) -> SurveyToken:
    """The survey `text` names; SurveyLinkRefused if it is not one we signed, SurveyLinkExpired
    once its time is past. The signature is compared in constant time."""
    payload, _, signature = text.partition(".")
    try:
        given, fields = _unb64(signature), _unb64(payload)
        # One spelling per token: base64's spare bits could otherwise vary unnoticed.
        if _b64(given) != signature or _b64(fields) != payload:
            raise ValueError("not canonical base64")
        ticket_id, seq, expires = fields.decode().split("|")
        token = SurveyToken(
            ticket_id=ticket_id, seq=int(seq), expires_at=datetime.fromtimestamp(int(expires), UTC)
        )
    except (ValueError, UnicodeDecodeError):
        raise SurveyLinkRefused("this survey link is not valid") from None
    if not hmac.compare_digest(given, _signature(secret, payload)):
        raise SurveyLinkRefused("this survey link is not valid")
    if now >= token.expires_at:
        raise SurveyLinkExpired("this survey link has expired", token)
    return token


def score_links(base_url: str, secret: bytes, token: SurveyToken) -> list[tuple[int, str]]:
    """`(score, url)` for each score, as the survey email lists them."""
    signed = sign(secret, token)
    root = base_url.rstrip("/")
    return [(score, f"{root}/csat/{signed}?score={score}") for score in SCORES]
