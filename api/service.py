"""Ticket use cases behind the HTTP routes: intake and reading; the customer's replies and
scores are `api.customer_side`'s (a base of `TicketService`).

Routes stay thin; this is where the API talks to Temporal and the store.
The API never decides a transition: it starts workflows and sends them
updates; the workflow's validators accept or refuse.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.customer_side import CustomerSide, Intake
from domain.errors import IdempotencyConflict
from domain.intake.admission import admit
from domain.intake.assignment import AgentLoad, choose_agent
from domain.intake.decide import decide
from domain.intake.routing import Routing, route
from domain.policy.support import SupportPolicy
from domain.ticket.aggregate import Ticket
from domain.ticket.requests import TicketCreate
from domain.ticket.state import TicketState
from domain.ticket.views import TicketBrief
from store import repository, webhooks
from store.engine import SessionMaker
from store.rows import event_row, ticket_row
from workflows import search_attributes as sa
from workflows.ticket import TicketWorkflow, TicketWorkflowInput

log = logging.getLogger("ticketflow.api")
WEBHOOK_HOLD = timedelta(seconds=10)
"""Intake's webhook deliveries wait until its workflow started (then released), or this long."""


def request_hash(request: TicketCreate) -> str:
    return hashlib.sha256(request.model_dump_json().encode()).hexdigest()


def static_summary(state: TicketState) -> str:
    """`[P1] billing via email`: the priority, category and channel, never the subject.

    A subject is the customer's free text (names, addresses, account numbers) that no mask
    can be trusted to find, so it stays in the workflow input, behind the payload codec. The
    summary is encrypted too when a codec is configured (the SDK encodes user metadata with
    it); it holds nothing personal, so a history read without the codec loses nothing."""
    return f"[{state.priority}] {state.category} via {state.channel}"


class TicketService(CustomerSide):
    """Intake and reading; the customer's replies and scores are `CustomerSide`'s
    (`api.customer_side`)."""

    def __init__(
        self,
        *,
        client: Client,
        sessions: SessionMaker,
        policy: SupportPolicy,
        task_queue: str,
        ticket_prefix: str,
        mail_domain: str,
    ) -> None:
        self._client = client
        self._sessions = sessions
        self._policy = policy
        self._task_queue = task_queue
        self._prefix = ticket_prefix
        self._mail_domain = mail_domain

    def ticket_id(self, number: int) -> str:
        return f"{self._prefix}-{number:06d}"

    def _handle(self, ticket_id: str) -> WorkflowHandle[TicketWorkflow, TicketBrief]:
        return self._client.get_workflow_handle_for(TicketWorkflow.run, ticket_id)

    async def create(
        self,
        request: TicketCreate,
        idempotency_key: str | None,
        *,
        related_ticket_id: str | None = None,
        acknowledge: bool = True,
    ) -> Intake:
        """Open a ticket (once per `idempotency_key`); `acknowledge=False` sends it no
        acknowledgment (a quarantined email)."""
        now = datetime.now(UTC)
        digest = request_hash(request)
        request = admit(self._policy.vocabulary, request)
        if idempotency_key is not None:
            async with self._sessions() as session:
                known = await repository.find_idempotency_key(session, key=idempotency_key)
            if known is not None:
                if known.request_hash != digest:
                    raise IdempotencyConflict(
                        "this Idempotency-Key was already used with a different request body"
                    )
                repeat = await self._existing(known.ticket_id)
                if repeat is not None:
                    return repeat
        routed = route(self._policy, request)
        async with self._sessions.begin() as session:
            ticket_id = self.ticket_id(await repository.allocate_ticket_number(session, at=now))
            if idempotency_key is not None:
                claim = await repository.claim_idempotency_key(
                    session, key=idempotency_key, request_hash=digest, ticket_id=ticket_id, at=now
                )
                if claim.request_hash != digest:
                    raise IdempotencyConflict(
                        "this Idempotency-Key was already used with a different request body"
                    )
                ticket_id = claim.ticket_id
            assignee = await self._choose_agent(session, routed, request, ticket_id, now)
            started = decide(
                self._policy,
                ticket_id=ticket_id,
                request=request,
                created_at=now,
                mail_domain=self._mail_domain,
                routed=routed,
                assignee=assignee,
                related_ticket_id=related_ticket_id,
                acknowledge=acknowledge,
            )
            ticket, created = Ticket.create(started)
            # The row and the `created` event go in with the number: the workflow then has
            # only the acknowledgment to send (one activity where two were).
            await repository.upsert_ticket(session, values=ticket_row(ticket.state))
            rows = [event_row(e) for e in created.events]
            await repository.insert_events(session, events=rows)
            held = await webhooks.enqueue(session, events=rows, at=now, due_at=now + WEBHOOK_HOLD)
        initial = ticket.state
        try:
            await self._client.start_workflow(
                TicketWorkflow.run,
                TicketWorkflowInput(started=started, recorded_seq=initial.last_seq),
                id=ticket_id,
                task_queue=self._task_queue,
                # A closed ticket's id is never reused for a new ticket.
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=sa.initial_attributes(initial),
                static_summary=static_summary(initial),
            )
        except WorkflowAlreadyStartedError:
            # A concurrent repeat of the same Idempotency-Key started it first.
            return Intake(state=await self.get(ticket_id), created=False)
        except BaseException:
            await self._forget(ticket_id)
            raise
        if held:
            async with self._sessions.begin() as session:
                await webhooks.release(session, ticket_id=ticket_id, at=now)
        return Intake(state=initial, created=True)

    async def _forget(self, ticket_id: str) -> None:
        """The workflow did not start: take back the row intake wrote, unless a workflow of
        that id has recorded more since (a concurrent repeat of the same key started it)."""
        try:
            async with self._sessions.begin() as session:
                await repository.delete_unstarted_ticket(session, ticket_id=ticket_id)
        except Exception:
            log.warning("could not take back the row of unstarted %s", ticket_id, exc_info=True)

    async def _existing(self, ticket_id: str) -> Intake | None:
        """The ticket an idempotent repeat names, or None if its first attempt never started it."""
        try:
            return Intake(state=await self.get(ticket_id), created=False)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return None
            raise

    async def _choose_agent(
        self,
        session: AsyncSession,
        routed: Routing,
        request: TicketCreate,
        ticket_id: str,
        now: datetime,
    ) -> str | None:
        """Round robin within the routed team, recorded in the intake transaction."""
        members = [a for a, spec in self._policy.agents.items() if spec.team == routed.team]
        if not members:
            return None
        raw = await repository.agent_loads(session, agent_ids=members)
        loads = {
            agent: AgentLoad(open_tickets=o, assigned_total=t) for agent, (o, t) in raw.items()
        }
        agent = choose_agent(
            self._policy,
            team=routed.team,
            category=routed.category,
            language=request.requester.language,
            loads=loads,
        )
        if agent is not None:
            await repository.record_assignment(
                session, ticket_id=ticket_id, agent_id=agent, team=routed.team, at=now
            )
        return agent

    async def get(self, ticket_id: str) -> TicketState:
        return await self._handle(ticket_id).query(TicketWorkflow.state)
