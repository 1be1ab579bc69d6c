"""Ticket use cases behind the HTTP routes: intake, reading, actions.

Routes stay thin; this is where the API talks to Temporal and the store.
The API never decides a transition: it starts workflows and sends them
updates; the workflow's validators accept or refuse.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from domain.actions import AgentReply
from domain.errors import IdempotencyConflict
from domain.machine import Ticket
from domain.policy import SupportPolicy
from domain.routing import route
from domain.ticket import TicketCreate, TicketStarted, TicketState
from store import repository
from store.engine import SessionMaker
from workflows import search_attributes as sa
from workflows.ticket import TicketWorkflow, TicketWorkflowInput

_EMAIL_IN_TEXT = re.compile(r"[^\s@<>]+@[^\s@<>]+")


def request_hash(request: TicketCreate) -> str:
    return hashlib.sha256(request.model_dump_json().encode()).hexdigest()


def static_summary(state: TicketState) -> str:
    """`[P1] subject`, with any email address in the subject masked: no personal data in the UI."""
    return f"[{state.priority.value}] {_EMAIL_IN_TEXT.sub('[email]', state.subject)}"


@dataclass(frozen=True)
class Intake:
    state: TicketState
    created: bool
    """False when an `Idempotency-Key` repeat returned the existing ticket."""


class TicketService:
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

    def _handle(self, ticket_id: str) -> WorkflowHandle[TicketWorkflow, TicketState]:
        return self._client.get_workflow_handle_for(TicketWorkflow.run, ticket_id)

    async def create(self, request: TicketCreate, idempotency_key: str | None) -> Intake:
        now = datetime.now(UTC)
        digest = request_hash(request)
        async with self._sessions.begin() as session:
            known = None
            if idempotency_key is not None:
                known = await repository.find_idempotency_key(session, key=idempotency_key)
            if known is not None:
                ticket_id = known.ticket_id
                if known.request_hash != digest:
                    raise IdempotencyConflict(
                        "this Idempotency-Key was already used with a different request body"
                    )
            else:
                ticket_id = self.ticket_id(await repository.allocate_ticket_number(session, at=now))
            if idempotency_key is not None and known is None:
                claim = await repository.claim_idempotency_key(
                    session, key=idempotency_key, request_hash=digest, ticket_id=ticket_id, at=now
                )
                if claim.request_hash != digest:
                    raise IdempotencyConflict(
                        "this Idempotency-Key was already used with a different request body"
                    )
                ticket_id = claim.ticket_id
        started = self._decide(ticket_id, request, now)
        initial = Ticket.create(started)[0].state
        try:
            await self._client.start_workflow(
                TicketWorkflow.run,
                TicketWorkflowInput(started=started),
                id=ticket_id,
                task_queue=self._task_queue,
                # A closed ticket's id is never reused for a new ticket.
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=sa.initial_attributes(initial),
                static_summary=static_summary(initial),
            )
        except WorkflowAlreadyStartedError:
            # Only an idempotent repeat can name an existing workflow.
            return Intake(state=await self.get(ticket_id), created=False)
        return Intake(state=initial, created=True)

    def _decide(self, ticket_id: str, request: TicketCreate, now: datetime) -> TicketStarted:
        """Routing and the SLA snapshot: fixed at intake for the ticket's whole life."""
        routed = route(self._policy, request)
        sla = self._policy.select_sla(
            priority=routed.priority.value,
            plan=request.requester.plan.value,
            category=routed.category,
            channel=request.channel.value,
            created_year=now.year,
        )
        return TicketStarted(
            ticket_id=ticket_id,
            request=request,
            created_at=now,
            priority=routed.priority,
            category=routed.category,
            team=routed.team,
            sla=sla,
            mail_domain=self._mail_domain,
        )

    async def get(self, ticket_id: str) -> TicketState:
        return await self._handle(ticket_id).query(TicketWorkflow.state)

    async def reply(self, ticket_id: str, agent_id: str, body: str) -> TicketState:
        agent = self._policy.agents.get(agent_id)
        return await self._handle(ticket_id).execute_update(
            TicketWorkflow.reply,
            AgentReply(actor=agent_id, body=body, agent_name=agent.name if agent else None),
        )
