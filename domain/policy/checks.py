"""Cross-reference checks of a structurally valid support policy.

Each problem is (key path, message), e.g. ("teams.billing.lead", "unknown agent 'zed'").
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from itertools import product
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from domain.policy.support import SupportPolicy

Problem = tuple[str, str]


def _unknown(
    path: str, kind: str, values: Iterable[str | None], known: Iterable[Hashable]
) -> list[Problem]:
    known_set = set(known)
    return [(path, f"unknown {kind} {value!r}") for value in values if value not in known_set]


def _duplicates(path: str, kind: str, values: Sequence[str]) -> list[Problem]:
    seen: set[str] = set()
    problems = []
    for value in values:
        if value in seen:
            problems.append((path, f"duplicate {kind} {value!r}"))
        seen.add(value)
    return problems


def reference_problems(policy: SupportPolicy) -> list[Problem]:
    """Every dangling reference, duplicate and SLA coverage gap in `policy`."""
    problems: list[Problem] = vocabulary_problems(policy)
    problems += _duplicates("categories", "category", policy.category_ids)
    problems += _duplicates("languages", "language", policy.languages)
    problems += _unknown(
        "default_language", "language", [policy.default_language], policy.languages
    )
    for key, calendar in policy.calendars.items():
        if calendar.id != key:
            problems.append((f"calendars.{key}.id", f"must be {key!r} (its key) or left out"))
    problems += _duplicates("sla_policies", "policy id", [p.id for p in policy.sla_policies])
    for index, sla in enumerate(policy.sla_policies):
        path = f"sla_policies.{index}"
        problems += _unknown(f"{path}.calendar", "calendar", [sla.calendar], policy.calendars)
        problems += _unknown(
            f"{path}.calendar_by_country",
            "calendar",
            sla.calendar_by_country.values(),
            policy.calendars,
        )
        categories = sla.match.category or []
        problems += _unknown(f"{path}.match.category", "category", categories, policy.category_ids)
    problems += _coverage_problems(policy)
    for key, team in policy.teams.items():
        problems += _unknown(f"teams.{key}.lead", "agent", [team.lead], policy.agents)
        problems += _unknown(f"teams.{key}.calendar", "calendar", [team.calendar], policy.calendars)
    for key, agent in policy.agents.items():
        problems += _unknown(f"agents.{key}.team", "team", [agent.team], policy.teams)
        problems += _unknown(
            f"agents.{key}.languages", "language", agent.languages, policy.languages
        )
    routing = policy.routing
    for index, rule in enumerate(routing.rules):
        path = f"routing.rules.{index}"
        if rule.category is not None:
            problems += _unknown(
                f"{path}.category", "category", [rule.category], policy.category_ids
            )
        if rule.team is not None:
            problems += _unknown(f"{path}.team", "team", [rule.team], policy.teams)
    problems += _unknown(
        "routing.default_category", "category", [routing.default_category], policy.category_ids
    )
    problems += _unknown("routing.default_team", "team", [routing.default_team], policy.teams)
    for index, level in enumerate(policy.escalation.levels):
        path = f"escalation.levels.{index}"
        if level.notify_team is not None:
            problems += _unknown(f"{path}.notify_team", "team", [level.notify_team], policy.teams)
        problems += _unknown(f"{path}.notify_agents", "agent", level.notify_agents, policy.agents)
        if level.team is not None:
            problems += _unknown(f"{path}.team", "team", [level.team], policy.teams)
    escalation = policy.escalation
    for path, ref in escalation.level_references():
        if escalation.level_number(ref) is None:
            problems.append((f"escalation.{path}", f"no level {ref!r} on the ladder"))
    problems += _duplicates(
        "escalation.content_triggers", "name", [t.name for t in escalation.content_triggers]
    )
    for index, ladder in enumerate(escalation.ladders):
        categories = [
            *(ladder.match.category or []),
            *(c for step in ladder.steps if step.when for c in step.when.category or []),
        ]
        problems += _unknown(
            f"escalation.ladders.{index}", "category", categories, policy.category_ids
        )
    return problems


def vocabulary_problems(policy: SupportPolicy) -> list[Problem]:
    """The priorities, plans and channels, and every reference to them elsewhere."""
    priorities = [p.id for p in policy.priorities]
    plans = [p.id for p in policy.plans]
    channels = [c.id for c in policy.channels]
    problems = _duplicates("priorities", "priority", priorities)
    problems += _duplicates("priorities", "rank", [str(p.rank) for p in policy.priorities])
    problems += _duplicates("plans", "plan", plans)
    problems += _duplicates("channels", "channel", channels)
    for index, plan_spec in enumerate(policy.plans):
        problems += _unknown(
            f"plans.{index}.languages", "language", plan_spec.languages or [], policy.languages
        )
    for index, channel in enumerate(policy.channels):
        path = f"channels.{index}"
        problems += _unknown(f"{path}.plans", "plan", channel.plans or [], plans)
        if channel.otherwise != "reject":
            problems += _unknown(f"{path}.otherwise", "channel", [channel.otherwise], channels)
            if channel.otherwise == channel.id:
                problems.append((f"{path}.otherwise", "must name another channel or 'reject'"))
    for index, sla in enumerate(policy.sla_policies):
        path = f"sla_policies.{index}.match"
        problems += _unknown(f"{path}.priority", "priority", sla.match.priority or [], priorities)
        problems += _unknown(f"{path}.plan", "plan", sla.match.plan or [], plans)
        problems += _unknown(f"{path}.channel", "channel", sla.match.channel or [], channels)
    routing = policy.routing
    for index, rule in enumerate(routing.rules):
        path = f"routing.rules.{index}"
        problems += _unknown(f"{path}.channel", "channel", rule.channel or [], channels)
        problems += _unknown(f"{path}.plan", "plan", rule.plan or [], plans)
        if rule.priority is not None:
            problems += _unknown(f"{path}.priority", "priority", [rule.priority], priorities)
    problems += _unknown(
        "routing.raise_priority_for_plans", "plan", routing.raise_priority_for_plans, plans
    )
    problems += _unknown(
        "routing.default_priority", "priority", [routing.default_priority], priorities
    )
    approvals = policy.approvals
    for index, authority in enumerate(approvals.rules):
        path = f"approvals.rules.{index}"
        problems += _unknown(f"{path}.plan", "plan", authority.plan or [], plans)
    for kind in ("breach", "low_csat"):
        for index, credit in enumerate(getattr(approvals.credits, kind)):
            path = f"approvals.credits.{kind}.{index}"
            problems += _unknown(f"{path}.plan", "plan", credit.plan or [], plans)
            problems += _unknown(f"{path}.priority", "priority", credit.priority or [], priorities)
    unresolved = policy.escalation.unresolved_after
    if "unresolved_after" in policy.escalation.model_fields_set:
        problems += _unknown("escalation.unresolved_after", "priority", unresolved, priorities)
    missing = [priority for priority in priorities if priority not in unresolved]
    if missing:
        given = "unresolved_after" in policy.escalation.model_fields_set
        note = "" if given else " (the default covers P1-P4 only)"
        problems.append(
            ("escalation.unresolved_after", f"missing priorities {', '.join(missing)}{note}")
        )
    return problems


def _coverage_problems(policy: SupportPolicy) -> list[Problem]:
    """Every ticket must get some SLA: check each (priority, plan, channel) without a category
    (a policy that matches a ticket without a category matches it with any category)."""
    vocabulary = policy.vocabulary
    uncovered = [
        f"priority={priority}, plan={plan}, channel={channel}"
        for priority, plan, channel in product(
            vocabulary.priority_ids, vocabulary.plan_ids, vocabulary.channel_ids
        )
        if not any(
            sla.match.matches(priority=priority, plan=plan, category=None, channel=channel)
            for sla in policy.sla_policies
        )
    ]
    if not uncovered:
        return []
    shown = "; ".join(uncovered[:3]) + (
        f"; and {len(uncovered) - 3} more" if len(uncovered) > 3 else ""
    )
    return [("sla_policies", f"no policy matches {shown} (end with a catch-all policy)")]
