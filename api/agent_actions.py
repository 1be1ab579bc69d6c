"""Agent actions: each one Temporal Update; the workflow's validator accepts or refuses.

What an action needs from the policy file (agent names and capacity, the SLA
policy for a new priority) is resolved here and passed in the Update, so the
workflow never reads configuration.
"""

from __future__ import annotations

from temporalio.client import Client, WorkflowHandle

from domain.actions import (
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
from domain.enums import Priority
from domain.errors import NotAssignable
from domain.policy import SupportPolicy
from domain.ticket import TicketState
from store import repository
from store.engine import SessionMaker
from workflows.ticket import TicketWorkflow


class AgentActions:
    def __init__(self, *, client: Client, sessions: SessionMaker, policy: SupportPolicy) -> None:
        self._client = client
        self._sessions = sessions
        self._policy = policy

    def _handle(self, ticket_id: str) -> WorkflowHandle[TicketWorkflow, TicketState]:
        return self._client.get_workflow_handle_for(TicketWorkflow.run, ticket_id)

    def _agent_name(self, agent_id: str) -> str | None:
        agent = self._policy.agents.get(agent_id)
        return agent.name if agent else None

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
