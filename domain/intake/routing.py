"""Routing at intake: the policy's rules decide category, team and (if none given) priority."""

from __future__ import annotations

from dataclasses import dataclass

from domain.enums import Priority
from domain.policy.support import SupportPolicy
from domain.ticket.requests import TicketCreate

_PRIORITY_ORDER = [Priority.P1, Priority.P2, Priority.P3, Priority.P4]


@dataclass(frozen=True)
class Routing:
    category: str
    team: str
    priority: Priority
    reason: str


def raise_one_step(priority: Priority) -> Priority:
    return _PRIORITY_ORDER[max(_PRIORITY_ORDER.index(priority) - 1, 0)]


def route(policy: SupportPolicy, request: TicketCreate) -> Routing:
    """Each of category, team and priority comes from the request if it names it, else from the
    first matching rule that sets it, else from the defaults. A priority the request did not
    name is then raised one step for the plans listed in `raise_priority_for_plans`."""
    spec = policy.routing
    plan = request.requester.plan
    category: str | None = request.category
    team: str | None = None
    priority: Priority | None = request.priority
    reasons: list[str] = []
    for index, rule in enumerate(spec.rules):
        if not rule.matches(
            subject=request.subject,
            description=request.description,
            channel=request.channel.value,
            plan=plan.value,
        ):
            continue
        label = f"rule {rule.name!r}" if rule.name else f"rule {index + 1}"
        if category is None and rule.category is not None:
            category = rule.category
            reasons.append(f"{label} set category {category}")
        if team is None and rule.team is not None:
            team = rule.team
            reasons.append(f"{label} set team {team}")
        if priority is None and rule.priority is not None:
            priority = Priority(rule.priority)
            reasons.append(f"{label} set priority {priority}")
    if priority is None:
        priority = Priority(spec.default_priority)
    if request.priority is None and plan in spec.raise_priority_for_plans:
        raised = raise_one_step(priority)
        if raised != priority:
            reasons.append(f"plan {plan.value} raised priority {priority} to {raised}")
            priority = raised
    return Routing(
        category=category or spec.default_category,
        team=team or spec.default_team,
        priority=priority,
        reason="; ".join(reasons) or "defaults",
    )
