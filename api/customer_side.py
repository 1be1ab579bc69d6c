"""The customer's side of a ticket behind the HTTP routes and inbound email: replies (a
closed ticket, or one resolved too long ago, gets a follow-up ticket instead) and scores.

`CustomerSide` is a base of `api.service.TicketService`, which supplies the client, the
workflow handles, reading and intake; each call is applied once per key, like the
agents' actions.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.idempotency import earlier_result, follow_up_key, update_id
from domain.intake.inbound import idempotency_key as inbound_key
from domain.ticket.actions import Action, CustomerReply, Rate
from domain.ticket.requests import TicketCreate
from domain.ticket.state import TicketState
from domain.ticket.views import TicketBrief, ticket_brief
from runtime.temporal import retrying_not_ready, workflow_exists
from workflows.ticket import TicketWorkflow


@dataclass(frozen=True)
class Replied:
    """What a customer reply did: the ticket as it is now, and the follow-up it opened (or
    found, on a repeat) when the ticket took no more replies."""

    ticket: TicketBrief
    follow_up: Intake | None = None


@dataclass(frozen=True)
class Intake:
    state: TicketState
    created: bool
    """False when an `Idempotency-Key` repeat returned the existing ticket."""
    follow_up: bool = False
    """The state is a follow-up ticket opened for a reply to a closed ticket (new or repeated)."""


class CustomerSide:
    """The customer's replies and scores; `TicketService` supplies the rest."""

    _client: Client

    if TYPE_CHECKING:

        def _handle(self, ticket_id: str) -> WorkflowHandle[TicketWorkflow, TicketBrief]: ...

        async def get(self, ticket_id: str) -> TicketState: ...

        async def create(
            self,
            request: TicketCreate,
            idempotency_key: str | None,
            *,
            related_ticket_id: str | None = None,
            acknowledge: bool = True,
        ) -> Intake: ...

    async def customer_reply(
        self,
        ticket_id: str,
        body: str,
        message_id: str | None = None,
        *,
        key: str | None = None,
    ) -> Replied:
        """Onto the ticket; a closed ticket (or one resolved too long ago) gets a follow-up.

        Applied once per Message-ID (an email) or `key` (the `Idempotency-Key` of the
        route): a repeat gets the first result, and a follow-up is opened under a create
        key derived from the same, so a repeat finds the follow-up the first one opened.
        """
        if message_id is not None:
            key = inbound_key(message_id)
            opened_under: str | None = key
        else:
            opened_under = follow_up_key(ticket_id, key) if key is not None else None
        handle = self._handle(ticket_id)
        uid = update_id(Action.CUSTOMER_REPLY, key)
        try:
            state = await earlier_result(handle, uid)
            if state is None:
                fixed = uid or str(uuid.uuid4())
                reply = CustomerReply(body=body, message_id=message_id)
                state = await retrying_not_ready(
                    lambda: handle.execute_update(TicketWorkflow.customer_reply, reply, id=fixed)
                )
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            if not (isinstance(cause, ApplicationError) and cause.type == "FollowUpRequired"):
                raise
            return await self._followed_up(ticket_id, body, opened_under)
        except RPCError as err:
            # A workflow that completed (closed long ago) takes no updates at all.
            if err.status != RPCStatusCode.NOT_FOUND or not await self._exists(ticket_id):
                raise
            return await self._followed_up(ticket_id, body, opened_under)
        return Replied(ticket=state)

    async def _followed_up(self, ticket_id: str, body: str, key: str | None) -> Replied:
        intake = await self.follow_up(ticket_id, body, key)
        return Replied(ticket=ticket_brief(intake.state, datetime.now(UTC)), follow_up=intake)

    async def rate(
        self, ticket_id: str, score: int, comment: str | None, *, key: str | None = None
    ) -> TicketBrief:
        handle = self._handle(ticket_id)
        uid = update_id(Action.CSAT, key)
        earlier = await earlier_result(handle, uid)
        if earlier is not None:
            return earlier
        fixed, rating = uid or str(uuid.uuid4()), Rate(score=score, comment=comment)
        return await retrying_not_ready(
            lambda: handle.execute_update(TicketWorkflow.rate, rating, id=fixed)
        )

    async def _exists(self, ticket_id: str) -> bool:
        return await workflow_exists(self._client, ticket_id)

    async def follow_up(self, ticket_id: str, body: str, idempotency_key: str | None) -> Intake:
        """A new ticket for the customer's message, linked to the one it follows; once per
        `idempotency_key` (a repeat returns the ticket the first one opened)."""
        old = await self.get(ticket_id)
        request = TicketCreate(
            requester=old.requester,
            subject=old.subject,
            description=body,
            channel=old.channel,
            priority=old.priority,
            category=old.category,
            tags=old.tags,
        )
        intake = await self.create(request, idempotency_key, related_ticket_id=ticket_id)
        return Intake(state=intake.state, created=intake.created, follow_up=True)
