"""Capacity-weighted round robin with skill and language match."""

from __future__ import annotations

from collections import Counter

from domain.intake.assignment import AgentLoad, choose_agent
from domain.policy.support import SupportPolicy, parse_policy
from tests.workflows.harness import DEFAULT_POLICY


def _policy_with(agents: dict[str, dict[str, object]]) -> SupportPolicy:
    data = DEFAULT_POLICY.model_dump(mode="json")
    for agent_id, spec in agents.items():
        data["agents"][agent_id] = {**data["agents"][agent_id], **spec}
    return parse_policy(data)


def _simulate(
    policy: SupportPolicy, team: str, tickets: int, category: str = "general"
) -> Counter[str]:
    """Assign `tickets` tickets one after another; nobody resolves anything."""
    loads: dict[str, AgentLoad] = {}
    given: Counter[str] = Counter()
    for _ in range(tickets):
        agent = choose_agent(policy, team=team, category=category, language="en", loads=loads)
        if agent is None:
            break
        given[agent] += 1
        old = loads.get(agent, AgentLoad(0, 0))
        loads[agent] = AgentLoad(old.open_tickets + 1, old.assigned_total + 1)
    return given


def test_round_robin_is_proportional_to_capacity() -> None:
    # Frontline: alice 25, bob 25, kevin 20 -> 70 slots in all.
    given = _simulate(DEFAULT_POLICY, "frontline", 70)
    assert given == Counter({"alice": 25, "bob": 25, "kevin": 20})
    # Part-way through, shares follow capacity within one ticket.
    partial = _simulate(DEFAULT_POLICY, "frontline", 14)
    assert partial == Counter({"alice": 5, "bob": 5, "kevin": 4})


def test_nobody_with_capacity_means_the_ticket_queues() -> None:
    given = _simulate(DEFAULT_POLICY, "frontline", 100)
    assert sum(given.values()) == 70
    full = {a: AgentLoad(25, 25) for a in ("alice", "bob")} | {"kevin": AgentLoad(20, 20)}
    assert (
        choose_agent(
            DEFAULT_POLICY, team="frontline", category="general", language="en", loads=full
        )
        is None
    )


def test_capacity_that_frees_up_is_used_again() -> None:
    full = {"alice": AgentLoad(25, 30), "bob": AgentLoad(24, 30), "kevin": AgentLoad(20, 10)}
    assert (
        choose_agent(
            DEFAULT_POLICY, team="frontline", category="general", language="en", loads=full
        )
        == "bob"
    )


def test_skill_match_is_preferred() -> None:
    # Billing team: carol (billing, refunds), dave (billing, payments).
    loads = {"carol": AgentLoad(0, 10), "dave": AgentLoad(0, 0)}
    pick = choose_agent(
        DEFAULT_POLICY, team="billing", category="refunds", language="en", loads=loads
    )
    assert pick == "carol"


def test_language_is_preferred_among_the_skilled() -> None:
    pick = choose_agent(
        DEFAULT_POLICY, team="frontline", category="general", language="mk", loads={}
    )
    assert pick == "bob"  # the only frontline agent speaking Macedonian


def test_inactive_agents_get_nothing() -> None:
    policy = _policy_with({"alice": {"active": False}})
    given = _simulate(policy, "frontline", 30)
    assert "alice" not in given
    assert sum(given.values()) == 30
