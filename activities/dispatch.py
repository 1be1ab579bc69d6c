"""Moving a team's queue: when an agent's capacity frees up, the oldest queued ticket goes next."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from domain.intake.assignment import AgentLoad, choose_agent
from domain.policy.support import SupportPolicy
from domain.ticket.actions import Assign
from domain.ticket.change import SYSTEM
from store import repository
from store.engine import SessionMaker

MAX_SKIPPED = 20
"""Queued tickets whose workflow is gone that one dispatch drops before giving up for now."""


class DispatchActivities:
    def __init__(self, sessions: SessionMaker, client: Client, policy: SupportPolicy) -> None:
        self._sessions = sessions
        self._client = client
        self._policy = policy

    @activity.defn(name="dispatch_queue")
    async def dispatch_queue(self, team: str) -> str | None:
        """Assign the team's oldest queued ticket to an agent with capacity now, if any.

        Idempotent: the Update is refused if the ticket was taken meanwhile (or by an
        earlier attempt of this activity), and the assignment record is insert-if-absent.
        A queued ticket whose workflow is gone (terminated, or ended) leaves the queue and
        the next one is tried: one dead ticket never wedges a team's queue.
        """
        for _ in range(MAX_SKIPPED):
            ticket_id, agent = await self._next(team)
            if ticket_id is None or agent is None:
                return None
            handle = self._client.get_workflow_handle(ticket_id)
            try:
                await handle.execute_update(
                    "assign",
                    Assign(actor=SYSTEM, agent_id=agent, team=team, only_if_unassigned=True),
                )
            except WorkflowUpdateFailedError:
                activity.logger.info("ticket %s was taken before dispatch", ticket_id)
                return None
            except RPCError as err:
                if err.status != RPCStatusCode.NOT_FOUND:
                    raise
                activity.logger.warning(
                    "queued ticket %s has no running workflow (%s): dropped from the %s queue",
                    ticket_id, err.message, team,
                )  # fmt: skip
                async with self._sessions.begin() as session:
                    await repository.mark_workflow_gone(
                        session, ticket_id=ticket_id, at=datetime.now(UTC)
                    )
                continue
            return ticket_id
        return None

    async def _next(self, team: str) -> tuple[str | None, str | None]:
        """The team's oldest queued ticket and the agent it goes to (recorded), if any."""
        members = [a for a, spec in self._policy.agents.items() if spec.team == team]
        async with self._sessions.begin() as session:
            ticket = await repository.oldest_queued_ticket(session, team=team)
            if ticket is None or not members:
                return None, None
            raw = await repository.agent_loads(session, agent_ids=members)
            agent = choose_agent(
                self._policy,
                team=team,
                category=ticket.category,
                language=ticket.language,
                loads={a: AgentLoad(*counts) for a, counts in raw.items()},
            )
            if agent is None:
                return ticket.id, None
            await repository.record_assignment(
                session, ticket_id=ticket.id, agent_id=agent, team=team, at=datetime.now(UTC)
            )
        return ticket.id, agent
