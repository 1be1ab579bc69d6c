"""`/v1/inbound/email`: an email from the gateway becomes a customer reply or a new ticket.

Each Message-ID is handled once: the request first claims it in the store (one
`INSERT … ON CONFLICT DO NOTHING`), then threads or creates, then records where the
email landed and why. A failure releases the claim, so the gateway's retry is handled afresh.

Automatic mail (`domain.intake.senders.automatic`) is recorded and acted on no further. A
reply threads into a ticket only when its sender is the ticket's requester; from anyone
else the policy's `inbound.unknown_sender` decides, and the ticket it named is not touched.
"""

from __future__ import annotations

import email.utils
import logging
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request, Response, status
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
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
    parse_mailbox,
)
from domain.intake.quoting import reply_headers, strip_quoted
from domain.intake.senders import NotThreaded, automatic, on_ticket
from domain.intake.survey_reply import survey_answer
from domain.policy.support import SupportPolicy
from store import inbound as claims
from store import repository
from store.engine import SessionMaker
from store.models import Ticket as StoredTicket

log = logging.getLogger("ticketflow.api.inbound")

CLAIM_LEASE = timedelta(minutes=15)
"""A `pending` claim older than this belongs to a request that died; a retry takes it over."""


class InboundIntake:
    """Deduplicate, thread, and hand the email to `TicketService`."""

    def __init__(
        self,
        *,
        tickets: TicketService,
        sessions: SessionMaker,
        threading: Threading,
        policy: SupportPolicy,
        own_addresses: frozenset[str],
    ) -> None:
        self._tickets = tickets
        self._sessions = sessions
        self._threading = threading
        self._policy = policy
        self._own = own_addresses
        self._reply_headers = reply_headers(policy.language_rules)

    async def receive(self, mail: InboundEmail) -> InboundResult:
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            claim = await claims.claim(
                session, message_id=mail.message_id, at=now, stale_before=now - CLAIM_LEASE
            )
        if not claim.claimed:
            assert claim.existing is not None
            if claim.existing.pending:
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
                reason=result.reason.value if result.reason else None,
            )
        return result

    async def _ticket(self, ticket_id: str) -> StoredTicket | None:
        """The ticket's row (its requester is who a reply must come from); None: no such ticket."""
        async with self._sessions() as session:
            return await repository.get_ticket(session, ticket_id=ticket_id)

    async def _rated(self, mail: InboundEmail, body: str, row: StoredTicket) -> bool:
        """A reply to the survey that is a score records it (True) instead of reopening the
        ticket or opening a follow-up. Not a survey answer, or refused (the ticket took no
        survey, or has a score already, or its workflow has ended): False, an ordinary reply."""
        answer = survey_answer(body)
        if answer is None:
            return False
        surveyed = row.csat_requested_at is not None and row.csat_score is None
        if not (surveyed or self._threading.answers_survey(mail, row.id)):
            return False
        try:
            await self._tickets.rate(
                row.id, answer.score, answer.comment, key=idempotency_key(mail.message_id)
            )
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type == "InvalidTransition":
                return False
            raise
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            return False
        return True

    async def _deliver(self, mail: InboundEmail) -> InboundResult:
        sender = parse_mailbox(mail.sender)[1]
        machine = automatic(mail.headers, sender, self._own)
        if machine is not None:
            return InboundResult(outcome=InboundOutcome.IGNORED, reason=machine)
        async with self._sessions() as session:
            known = await claims.tickets_of(session, message_ids=mail.thread_message_ids())
        body = strip_quoted(mail.text, self._reply_headers)
        spoofed = False
        for ticket_id in self._threading.candidates(mail, known):
            row = await self._ticket(ticket_id)
            if row is None:
                continue  # a tag or reference naming no ticket (typo, another desk)
            if not on_ticket(sender, [row.requester_email]):
                spoofed = True
                continue
            if await self._rated(mail, body, row):
                return InboundResult(ticket_id=ticket_id, outcome=InboundOutcome.RATED)
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
        if not spoofed:
            return await self._open(mail, body, InboundOutcome.CREATED)
        policy, reason = self._policy.inbound.unknown_sender, NotThreaded.UNKNOWN_SENDER
        if policy == "reject":
            return InboundResult(outcome=InboundOutcome.REJECTED, reason=reason)
        if policy == "quarantine":
            return await self._open(mail, body, InboundOutcome.QUARANTINED, reason)
        return await self._open(mail, body, InboundOutcome.CREATED, reason)

    async def _open(
        self,
        mail: InboundEmail,
        body: str,
        outcome: InboundOutcome,
        reason: NotThreaded | None = None,
    ) -> InboundResult:
        """A ticket of the sender's own; a quarantined one is tagged and unacknowledged."""
        quarantined = outcome == InboundOutcome.QUARANTINED
        tags = ["quarantine"] if quarantined else ["unverified-sender"] if reason else []
        request = self._threading.new_ticket(mail, description=body, tags=tags)
        key = idempotency_key(mail.message_id)
        intake = await self._tickets.create(request, key, acknowledge=not quarantined)
        return InboundResult(ticket_id=intake.state.ticket_id, outcome=outcome, reason=reason)

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


def build_router(*, ticket_prefix: str, mail_domain: str, mail_from: str) -> APIRouter:
    """The inbound routes for a desk whose ticket ids and Message-IDs look like this, and
    whose mail comes from `mail_from`."""
    threading = Threading(ticket_prefix=ticket_prefix, mail_domain=mail_domain)
    own = frozenset(filter(None, [email.utils.parseaddr(mail_from)[1]]))
    router = APIRouter(
        prefix="/v1/inbound", tags=["inbound"], responses=documented(401, 403, 409, 422, 503)
    )

    @router.post(
        "/email",
        response_model=InboundResult,
        response_model_exclude_none=True,
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
        intake = InboundIntake(
            tickets=tickets,
            sessions=_sessions(request),
            threading=threading,
            policy=request.app.state.policy,
            own_addresses=own,
        )
        result = await intake.receive(body)
        opened = (InboundOutcome.CREATED, InboundOutcome.FOLLOW_UP, InboundOutcome.QUARANTINED)
        if result.outcome in opened:
            response.status_code = status.HTTP_201_CREATED
            response.headers["Location"] = f"/v1/tickets/{result.ticket_id}"
        return result

    return router
