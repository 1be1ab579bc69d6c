"""Choosing an agent within a team: capacity-weighted round robin with skill match.

Pure: the caller supplies each agent's current load. Over many tickets each
eligible agent receives a share proportional to their capacity, because the
agent with the fewest assignments per unit of capacity goes next.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.policy.support import SupportPolicy


@dataclass(frozen=True)
class AgentLoad:
    open_tickets: int
    """Open tickets assigned now: measured against capacity."""
    assigned_total: int
    """Tickets ever assigned by routing: the round-robin position."""


def choose_agent(
    policy: SupportPolicy,
    *,
    team: str,
    category: str,
    language: str,
    loads: dict[str, AgentLoad],
) -> str | None:
    """The agent of `team` to take the ticket, or None when nobody has capacity (it queues).

    Among active agents with spare capacity, those with the category as a skill are
    preferred, then those speaking the customer's language; the next is the one with the
    fewest routed tickets per unit of capacity (ties: fewer open tickets, then agent id).
    """
    free = [
        agent_id
        for agent_id, agent in policy.agents.items()
        if agent.team == team
        and agent.active
        and agent.capacity > 0
        and loads.get(agent_id, AgentLoad(0, 0)).open_tickets < agent.capacity
    ]
    skilled = [a for a in free if category in policy.agents[a].skills] or free
    speaking = [a for a in skilled if language in policy.agents[a].languages] or skilled
    if not speaking:
        return None

    def turn(agent_id: str) -> tuple[float, float, str]:
        load = loads.get(agent_id, AgentLoad(0, 0))
        capacity = policy.agents[agent_id].capacity
        return (load.assigned_total / capacity, load.open_tickets / capacity, agent_id)

    return min(speaking, key=turn)
