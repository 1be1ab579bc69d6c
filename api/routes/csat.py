"""`GET /csat/{token}?score=N`: the survey's one-click answer, no bearer token.

The token is the survey's, signed by the worker with `TICKETFLOW_CSAT_SECRET`
(`domain.ticket.survey_links`): a forged or altered token is refused (403), an expired one
too (410). Each survey's links are used once: the click claims the survey in the store
(`store.csat`) before the score goes to the ticket's workflow as the `rate` Update, so a
second click, or a click after the customer answered by email, records nothing (409). The
answer is a small HTML page in the ticket's language.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from api.deps import TicketServiceDep
from api.errors import documented
from api.survey_pages import Page, survey_page
from domain.policy.support import SupportPolicy
from domain.ticket.survey_links import (
    SCORES,
    SurveyLinkExpired,
    SurveyLinkRefused,
    SurveyToken,
    verify,
)
from store import csat as links
from store import repository
from store.engine import SessionMaker

log = logging.getLogger("ticketflow.api.csat")
router = APIRouter(tags=["survey"])

CLAIM_LEASE = timedelta(minutes=5)
"""A `pending` click older than this belongs to a request that died: the link works again."""
MAX_TOKEN_CHARS = 200
MAX_SCORE_CHARS = 8
"""Longer than any score: a longer value is the API's 422 error shape, not the HTML page."""


def _page(page: Page, status: int, language: str, **values: object) -> HTMLResponse:
    return HTMLResponse(
        survey_page(page, language, **values),  # type: ignore[arg-type]
        status_code=status,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


async def _language(sessions: SessionMaker, ticket_id: str, default: str) -> str:
    async with sessions() as session:
        row = await repository.get_ticket(session, ticket_id=ticket_id)
    return row.language if row is not None else default


def _html(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


@router.get(
    "/csat/{token}",
    responses={
        200: _html("The score is recorded: a thank-you page in the ticket's language"),
        **documented(503),
        403: _html("Not a link we signed (forged, altered, or links are not enabled)"),
        409: _html("This survey was answered already"),
        410: _html("The link has expired"),
        # HTML for a score out of range; the error shape for a request the API refuses
        # before the route (a NUL byte, say).
        422: {
            **documented(422)[422],
            **_html("The score is not 1 to 5, or a malformed request (the error shape)"),
        },
    },
)
async def answer_survey(
    token: Annotated[str, Path(max_length=MAX_TOKEN_CHARS)],
    request: Request,
    tickets: TicketServiceDep,
    score: Annotated[str, Query(max_length=MAX_SCORE_CHARS)] = "",
) -> HTMLResponse:
    """Record the score of a signed survey link (1-5), once; a thank-you page."""
    policy: SupportPolicy = request.app.state.policy
    sessions: SessionMaker = request.app.state.sessions
    secret: bytes | None = request.app.state.csat_secret
    default = policy.default_language
    now = datetime.now(UTC)
    if secret is None:
        return _page("invalid", 403, default)
    try:
        survey = verify(secret, token, now)
    except SurveyLinkExpired as expired:
        language = await _language(sessions, expired.token.ticket_id, default)
        return _page("expired", 410, language)
    except SurveyLinkRefused:
        return _page("invalid", 403, default)
    language = await _language(sessions, survey.ticket_id, default)
    if not score.isdigit() or int(score) not in SCORES:
        return _page("invalid", 422, language)
    return await _record(tickets, sessions, policy, survey, int(score), language, now)


async def _record(
    tickets: TicketServiceDep,
    sessions: SessionMaker,
    policy: SupportPolicy,
    survey: SurveyToken,
    score: int,
    language: str,
    now: datetime,
) -> HTMLResponse:
    async with sessions.begin() as session:
        earlier = await links.claim(
            session,
            survey_id=survey.survey_id,
            ticket_id=survey.ticket_id,
            score=score,
            at=now,
            stale_before=now - CLAIM_LEASE,
        )
    if earlier is not None:
        return _page("already", 409, language)
    try:
        await tickets.rate(survey.ticket_id, score, None, key=f"survey-link:{survey.survey_id}")
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if not (isinstance(cause, ApplicationError) and cause.type == "InvalidTransition"):
            await _release(sessions, survey.survey_id)
            raise
        # Rated already (by an email reply): this link records nothing.
        await _finish(sessions, survey.survey_id, links.REFUSED)
        return _page("already", 409, language)
    except BaseException:
        await _release(sessions, survey.survey_id)
        raise
    await _finish(sessions, survey.survey_id, links.RECORDED)
    low = score < policy.escalation.low_csat_threshold
    return _page("thanks", 200, language, score=score, ticket_id=survey.ticket_id, low=low)


async def _finish(sessions: SessionMaker, survey_id: str, outcome: str) -> None:
    async with sessions.begin() as session:
        await links.finish(session, survey_id=survey_id, outcome=outcome)


async def _release(sessions: SessionMaker, survey_id: str) -> None:
    try:
        async with sessions.begin() as session:
            await links.release(session, survey_id=survey_id)
    except Exception:
        # The lease frees the claim later; the original failure is what the caller sees.
        log.warning("could not release the survey claim %s", survey_id, exc_info=True)
