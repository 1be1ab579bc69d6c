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

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.actions import (
    AgentNote,
    AgentReply,
    Assign,
    ChangePriority,
    Close,
    CustomerReply,
    Escalate,
    Hold,
    Reopen,
    RequestInfo,
    Resolve,
)
from domain.enums import Priority
from domain.errors import IdempotencyConflict, NotAssignable
from domain.lifecycle import Ticket
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

    async def create(
        self,
        request: TicketCreate,
        idempotency_key: str | None,
        *,
        related_ticket_id: str | None = None,
    ) -> Intake:
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
        started = self._decide(ticket_id, request, now, related_ticket_id)
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

    def _decide(
        self,
        ticket_id: str,
        request: TicketCreate,
        now: datetime,
        related_ticket_id: str | None = None,
    ) -> TicketStarted:
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
            lifecycle=self._policy.lifecycle,
            related_ticket_id=related_ticket_id,
            mail_domain=self._mail_domain,
        )

    async def get(self, ticket_id: str) -> TicketState:
        return await self._handle(ticket_id).query(TicketWorkflow.state)

    def _agent_name(self, agent_id: str) -> str | None:
        agent = self._policy.agents.get(agent_id)
        return agent.name if agent else None

    # -- agent actions: each one Update; the workflow's validator accepts or refuses ----------

    async def reply(self, ticket_id: str, agent_id: str, body: str) -> TicketState:
        return await self._handle(ticket_id).execute_update(
            TicketWorkflow.reply,
            AgentReply(actor=agent_id, body=body, agent_name=self._agent_name(agent_id)),
        )

    async def note(self, ticket_id: str, agent_id: str, body: str) -> TicketState:
        return await self._handle(ticket_id).execute_update(
            TicketWorkflow.note, AgentNote(actor=agent_id, body=body)
        )

    async def request_info(self, ticket_id: str, agent_id: str, body: str) -> TicketState:
        return await self._handle(ticket_id).execute_update(
            TicketWorkflow.request_info,
            RequestInfo(actor=agent_id, body=body, agent_name=self._agent_name(agent_id)),
        )

    async def assign(
        self, ticket_id: str, actor: str, *, agent_id: str | None, team: str | None
    ) -> TicketState:
        """To an agent (who must exist, be active and have capacity) or to a team's queue."""
        if agent_id is not None:
            agent = self._policy.agents.get(agent_id)
            if agent is None:
                raise NotAssignable(f"no agent {agent_id!r} in the support policy")
            if not agent.active:
                raise NotAssignable(f"agent {agent_id!r} is not active")
            async with self._sessions() as session:
                load = await repository.count_open_by_assignee(session, agent_id=agent_id)
            if load >= agent.capacity:
                raise NotAssignable(
                    f"agent {agent_id!r} has no capacity: {load} open tickets of {agent.capacity}"
                )
            team = agent.team
        elif team not in self._policy.teams:
            raise NotAssignable(f"no team {team!r} in the support policy")
        assert team is not None
        return await self._handle(ticket_id).execute_update(
            TicketWorkflow.assign, Assign(actor=actor, agent_id=agent_id, team=team)
        )

    async def change_priority(
        self, ticket_id: str, actor: str, priority: Priority, reason: str
    ) -> TicketState:
        """Re-applies the current policy file for the new priority, explicitly and on record."""
        handle = self._handle(ticket_id)
        state = await handle.query(TicketWorkflow.state)
        sla = self._policy.select_sla(
            priority=priority.value,
            plan=state.requester.plan.value,
            category=state.category,
            channel=state.channel.value,
            created_year=state.created_at.year,
        )
        return await handle.execute_update(
            TicketWorkflow.change_priority,
            ChangePriority(actor=actor, priority=priority, reason=reason, sla=sla),
        )

    async def escalate(
        self, ticket_id: str, actor: str, reason: str, level: int | None
    ) -> TicketState:
        return await self._handle(ticket_id).execute_update(
            TicketWorkflow.escalate, Escalate(actor=actor, reason=reason, level=level)
        )

    async def hold(self, ticket_id: str, actor: str, reason: str) -> TicketState:
        return await self._handle(ticket_id).execute_update(
            TicketWorkflow.hold, Hold(actor=actor, reason=reason)
        )

    async def resolve(self, ticket_id: str, actor: str, resolution: str) -> TicketState:
        return await self._handle(ticket_id).execute_update(
            TicketWorkflow.resolve,
            Resolve(actor=actor, resolution=resolution, agent_name=self._agent_name(actor)),
        )

    async def reopen(self, ticket_id: str, actor: str, reason: str) -> TicketState:
        return await self._handle(ticket_id).execute_update(
            TicketWorkflow.reopen, Reopen(actor=actor, reason=reason)
        )

    async def close(self, ticket_id: str, actor: str) -> TicketState:
        return await self._handle(ticket_id).execute_update(
            TicketWorkflow.close, Close(actor=actor)
        )

    # -- the customer's side ------------------------------------------------------------------

    async def customer_reply(
        self, ticket_id: str, body: str, message_id: str | None = None
    ) -> Intake:
        """Onto the ticket; a closed ticket (or one resolved too long ago) gets a follow-up."""
        handle = self._handle(ticket_id)
        try:
            state = await handle.execute_update(
                TicketWorkflow.customer_reply, CustomerReply(body=body, message_id=message_id)
            )
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            if not (isinstance(cause, ApplicationError) and cause.type == "FollowUpRequired"):
                raise
            return await self.follow_up(ticket_id, body)
        except RPCError as err:
            # A workflow that completed (closed long ago) takes no updates at all.
            if err.status != RPCStatusCode.NOT_FOUND or not await self._exists(ticket_id):
                raise
            return await self.follow_up(ticket_id, body)
        return Intake(state=state, created=False)

    async def _exists(self, ticket_id: str) -> bool:
        try:
            await self._handle(ticket_id).describe()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return False
            raise
        return True

    async def follow_up(self, ticket_id: str, body: str) -> Intake:
        """A new ticket for the customer's message, linked to the one it follows."""
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
        return await self.create(request, None, related_ticket_id=ticket_id)
