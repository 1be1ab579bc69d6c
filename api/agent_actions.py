"""Agent actions: each one Temporal Update; the workflow's validator accepts or refuses.

What an action needs from the policy file (agent names and capacity, the SLA
policy for a new priority) is resolved here and passed in the Update, so the
workflow never reads configuration. An action sent with an `Idempotency-Key`
runs once: see `api/idempotency.py`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from temporalio.client import Client, WorkflowHandle
from temporalio.workflow import UpdateMethodMultiParam

from api.idempotency import earlier_result, update_id
from domain.enums import PriorityId
from domain.errors import InvalidTransition, NotAssignable, OpenChildren
from domain.policy.support import SupportPolicy
from domain.policy.vocabulary import check_known
from domain.ticket.actions import (
    Action,
    AgentNote,
    AgentReply,
    Assign,
    ChangePriority,
    Close,
    Escalate,
    Hold,
    Reopen,
    RequestInfo,
    Resolve,
)
from domain.ticket.links import ParentLink
from domain.ticket.views import TicketBrief
from runtime.temporal import retrying_not_ready
from store import incidents as incident_store
from store import repository
from store.engine import SessionMaker
from workflows.ticket import TicketWorkflow

Handle = WorkflowHandle[TicketWorkflow, TicketBrief]
Send = Callable[[Handle, str | None], Awaitable[TicketBrief]]
"""Sends the action's Update to the ticket, with the given Update id."""
Input = TypeVar("Input")


class AgentActions:
    def __init__(self, *, client: Client, sessions: SessionMaker, policy: SupportPolicy) -> None:
        self._client = client
        self._sessions = sessions
        self._policy = policy

    def _handle(self, ticket_id: str) -> Handle:
        return self._client.get_workflow_handle_for(TicketWorkflow.run, ticket_id)

    async def _once(
        self, ticket_id: str, action: Action, key: str | None, send: Send
    ) -> TicketBrief:
        """A repeat of `key` gets the first outcome before any check runs; else send it."""
        handle = self._handle(ticket_id)
        uid = update_id(action, key)
        earlier = await earlier_result(handle, uid)
        if earlier is not None:
            return earlier
        fixed = uid or str(uuid.uuid4())  # one id for every retry of this one request
        return await retrying_not_ready(lambda: send(handle, fixed))

    async def _update(
        self,
        ticket_id: str,
        action: Action,
        key: str | None,
        update: UpdateMethodMultiParam[[TicketWorkflow, Input], TicketBrief],
        arg: Input,
    ) -> TicketBrief:
        """`_once` for an Update whose argument is known before sending."""
        return await self._once(
            ticket_id,
            action,
            key,
            lambda handle, uid: handle.execute_update(update, arg, id=uid),
        )

    def _agent_name(self, agent_id: str) -> str | None:
        agent = self._policy.agents.get(agent_id)
        return agent.name if agent else None

    async def reply(
        self, ticket_id: str, agent_id: str, body: str, *, key: str | None = None
    ) -> TicketBrief:
        reply = AgentReply(actor=agent_id, body=body, agent_name=self._agent_name(agent_id))
        return await self._update(ticket_id, Action.REPLY, key, TicketWorkflow.reply, reply)

    async def note(
        self, ticket_id: str, agent_id: str, body: str, *, key: str | None = None
    ) -> TicketBrief:
        note = AgentNote(actor=agent_id, body=body)
        return await self._update(ticket_id, Action.NOTE, key, TicketWorkflow.note, note)

    async def request_info(
        self, ticket_id: str, agent_id: str, body: str, *, key: str | None = None
    ) -> TicketBrief:
        ask = RequestInfo(actor=agent_id, body=body, agent_name=self._agent_name(agent_id))
        return await self._update(
            ticket_id, Action.REQUEST_INFO, key, TicketWorkflow.request_info, ask
        )

    async def assign(
        self,
        ticket_id: str,
        actor: str,
        *,
        agent_id: str | None,
        team: str | None,
        key: str | None = None,
    ) -> TicketBrief:
        """To an agent (who must exist, be active and have capacity) or to a team's queue."""

        async def send(handle: Handle, uid: str | None) -> TicketBrief:
            target = await self._assignment(actor, agent_id=agent_id, team=team)
            return await handle.execute_update(TicketWorkflow.assign, target, id=uid)

        return await self._once(ticket_id, Action.ASSIGN, key, send)

    async def _assignment(self, actor: str, *, agent_id: str | None, team: str | None) -> Assign:
        if agent_id is not None:
            agent = self._policy.agents.get(agent_id)
            if agent is None:
                raise NotAssignable(f"no agent {agent_id!r} in the support policy")
            if not agent.active:
                raise NotAssignable(f"agent {agent_id!r} is not active")
            async with self._sessions() as session:
                loads = await repository.agent_loads(session, agent_ids=[agent_id])
            load = loads[agent_id][0]
            if load >= agent.capacity:
                raise NotAssignable(
                    f"agent {agent_id!r} has no capacity: {load} open tickets of {agent.capacity}"
                )
            team = agent.team
        elif team not in self._policy.teams:
            raise NotAssignable(f"no team {team!r} in the support policy")
        assert team is not None
        return Assign(actor=actor, agent_id=agent_id, team=team)

    async def change_priority(
        self,
        ticket_id: str,
        actor: str,
        priority: PriorityId,
        reason: str,
        *,
        key: str | None = None,
    ) -> TicketBrief:
        """Re-applies the current policy file for the new priority, explicitly and on record."""
        check_known("priority", priority, self._policy.vocabulary.priority_ids)

        async def send(handle: Handle, uid: str | None) -> TicketBrief:
            state = await handle.query(TicketWorkflow.state)
            sla = self._policy.select_sla(
                priority=priority,
                plan=state.requester.plan,
                category=state.category,
                channel=state.channel,
                created_year=state.created_at.year,
                requester_country=state.requester.country,
                requester_timezone=state.requester.timezone,
            )
            change = ChangePriority(actor=actor, priority=priority, reason=reason, sla=sla)
            return await handle.execute_update(TicketWorkflow.change_priority, change, id=uid)

        return await self._once(ticket_id, Action.PRIORITY, key, send)

    async def escalate(
        self, ticket_id: str, actor: str, reason: str, level: int | None, *, key: str | None = None
    ) -> TicketBrief:
        escalate = Escalate(actor=actor, reason=reason, level=level)
        return await self._update(
            ticket_id, Action.ESCALATE, key, TicketWorkflow.escalate, escalate
        )

    async def hold(
        self, ticket_id: str, actor: str, reason: str, *, key: str | None = None
    ) -> TicketBrief:
        hold = Hold(actor=actor, reason=reason)
        return await self._update(ticket_id, Action.HOLD, key, TicketWorkflow.hold, hold)

    async def resolve(
        self, ticket_id: str, actor: str, resolution: str, *, key: str | None = None
    ) -> TicketBrief:
        resolve = Resolve(actor=actor, resolution=resolution, agent_name=self._agent_name(actor))
        return await self._update(ticket_id, Action.RESOLVE, key, TicketWorkflow.resolve, resolve)

    async def resolve_parent(
        self,
        ticket_id: str,
        actor: str,
        resolution: str,
        resolve_children: bool,
        *,
        key: str | None = None,
    ) -> TicketBrief:
        """`resolve`, minding the ticket's children: open ones refuse it (409, named), or
        are resolved first with the same resolution when asked."""
        async with self._sessions() as session:
            children = await incident_store.open_children(session, ticket_id=ticket_id)
        if children and not resolve_children:
            raise OpenChildren(
                f"cannot resolve: ticket {ticket_id} has open children {', '.join(children)}"
                " (resolve them, or ask for resolve_children)"
            )
        for child in children:
            child_key = f"{key}/child/{child}" if key is not None else None
            await self.resolve(child, actor, resolution, key=child_key)
        return await self.resolve(ticket_id, actor, resolution, key=key)

    async def link_parent(
        self, ticket_id: str, actor: str, parent_id: str, *, key: str | None = None
    ) -> TicketBrief:
        """Child of `parent_id`, which must exist and must not be this ticket's own child."""
        parent = await self._handle(parent_id).query(TicketWorkflow.state)
        if parent.parent_id == ticket_id:
            raise InvalidTransition(f"cannot link: {parent_id} is a child of {ticket_id}")
        link = ParentLink(actor=actor, parent_id=parent_id)
        brief = await self._update(ticket_id, Action.LINK, key, TicketWorkflow.link_parent, link)
        async with self._sessions.begin() as session:
            await incident_store.set_parent_now(session, ticket_id=ticket_id, parent_id=parent_id)
        return brief

    async def reopen(
        self, ticket_id: str, actor: str, reason: str, *, key: str | None = None
    ) -> TicketBrief:
        reopen = Reopen(actor=actor, reason=reason)
        return await self._update(ticket_id, Action.REOPEN, key, TicketWorkflow.reopen, reopen)

    async def close(self, ticket_id: str, actor: str, *, key: str | None = None) -> TicketBrief:
        close = Close(actor=actor)
        return await self._update(ticket_id, Action.CLOSE, key, TicketWorkflow.close, close)
