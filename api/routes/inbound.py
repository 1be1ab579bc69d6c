"""`/v1/inbound/email`: an email from the gateway becomes a customer reply or a new ticket.

Each Message-ID is handled once: the request first claims it in the store (one
`INSERT … ON CONFLICT DO NOTHING`), then threads or creates, then records where the
email landed. A failure releases the claim, so the gateway's retry is handled afresh.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request, Response, status
from temporalio.service import RPCError, RPCStatusCode

from api.deps import ServicePrincipal, TicketServiceDep
from api.errors import documented
from api.service import TicketService
from domain.intake.inbound import (
    InboundEmail,
    InboundInProgress,
    InboundOutcome,
    InboundResult,
    Threading,
    idempotency_key,
)
from domain.intake.quoting import strip_quoted
from store import inbound as claims
from store.engine import SessionMaker

log = logging.getLogger("ticketflow.api.inbound")

CLAIM_LEASE = timedelta(minutes=15)
"""A `pending` claim older than this belongs to a request that died; a retry takes it over."""


class InboundIntake:
    """Deduplicate, thread, and hand the email to `TicketService`."""

    def __init__(
        self, *, tickets: TicketService, sessions: SessionMaker, threading: Threading
    ) -> None:
        self._tickets = tickets
        self._sessions = sessions
        self._threading = threading

    async def receive(self, mail: InboundEmail) -> InboundResult:
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            claim = await claims.claim(
                session, message_id=mail.message_id, at=now, stale_before=now - CLAIM_LEASE
            )
        if not claim.claimed:
            assert claim.existing is not None
            if claim.existing.ticket_id is None:
                raise InboundInProgress(
                    f"the email {mail.message_id} is being handled by another request; retry later"
                )
            return InboundResult(
                ticket_id=claim.existing.ticket_id, outcome=InboundOutcome.DUPLICATE
            )
        try:
            result = await self._deliver(mail)
        except BaseException:
            await self._release(mail.message_id)
            raise
        async with self._sessions.begin() as session:
            await claims.finish(
                session,
                message_id=mail.message_id,
                ticket_id=result.ticket_id,
                outcome=result.outcome.value,
            )
        return result

    async def _deliver(self, mail: InboundEmail) -> InboundResult:
        async with self._sessions() as session:
            known = await claims.tickets_of(session, message_ids=mail.thread_message_ids())
        body = strip_quoted(mail.text)
        for ticket_id in self._threading.candidates(mail, known):
            try:
                replied = await self._tickets.customer_reply(
                    ticket_id, body, message_id=mail.message_id
                )
            except RPCError as err:
                if err.status != RPCStatusCode.NOT_FOUND:
                    raise
                # A tag or reference naming no ticket (typo, another desk): try the next one.
                continue
            outcome = InboundOutcome.FOLLOW_UP if replied.follow_up else InboundOutcome.THREADED
            return InboundResult(ticket_id=replied.ticket.id, outcome=outcome)
        request = self._threading.new_ticket(mail, description=body)
        intake = await self._tickets.create(request, idempotency_key(mail.message_id))
        return InboundResult(ticket_id=intake.state.ticket_id, outcome=InboundOutcome.CREATED)

    async def _release(self, message_id: str) -> None:
        try:
            async with self._sessions.begin() as session:
                await claims.release(session, message_id=message_id)
        except Exception:
            # The lease frees the claim later; the original failure is what the caller sees.
            log.warning("could not release the claim on %s", message_id, exc_info=True)


def _sessions(request: Request) -> SessionMaker:
    sessions: SessionMaker = request.app.state.sessions
    return sessions


def build_router(*, ticket_prefix: str, mail_domain: str) -> APIRouter:
    """The inbound routes for a desk whose ticket ids and Message-IDs look like this."""
    threading = Threading(ticket_prefix=ticket_prefix, mail_domain=mail_domain)
    router = APIRouter(
        prefix="/v1/inbound", tags=["inbound"], responses=documented(401, 403, 409, 422, 503)
    )

    @router.post(
        "/email",
        response_model=InboundResult,
        status_code=status.HTTP_200_OK,
        responses={201: {"model": InboundResult, "description": "A ticket was opened"}},
    )
    async def inbound_email(
        body: InboundEmail,
        request: Request,
        response: Response,
        tickets: TicketServiceDep,
        _: ServicePrincipal,
    ) -> InboundResult:
        """Thread an email to its ticket or open one (201); a repeated Message-ID does nothing."""
        intake = InboundIntake(tickets=tickets, sessions=_sessions(request), threading=threading)
        result = await intake.receive(body)
        if result.outcome in (InboundOutcome.CREATED, InboundOutcome.FOLLOW_UP):
            response.status_code = status.HTTP_201_CREATED
            response.headers["Location"] = f"/v1/tickets/{result.ticket_id}"
        return result

    return router
