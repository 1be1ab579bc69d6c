"""Routing at intake: the policy's rules decide category, team and (if none given) priority."""

from __future__ import annotations

from dataclasses import dataclass

from domain.policy.support import SupportPolicy
from domain.ticket.requests import TicketCreate


@dataclass(frozen=True)
class Routing:
    category: str
    team: str
    priority: str
    reason: str


def route(policy: SupportPolicy, request: TicketCreate) -> Routing:
    """Each of category, team and priority comes from the request if it names it, else from the
    first matching rule that sets it, else from the defaults. A priority the request did not
    name is then raised one step (to the next lower rank) for the plans listed in
    `raise_priority_for_plans`. `request` has passed `domain.intake.admission.admit`."""
    spec = policy.routing
    plan = request.requester.plan
    category: str | None = request.category
    team: str | None = None
    priority: str | None = request.priority
    reasons: list[str] = []
    for index, rule in enumerate(spec.rules):
        if not rule.matches(
            subject=request.subject,
            description=request.description,
            channel=request.channel,
            plan=plan,
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
            priority = rule.priority
            reasons.append(f"{label} set priority {priority}")
    if priority is None:
        priority = spec.default_priority
    if request.priority is None and plan in spec.raise_priority_for_plans:
        raised = policy.vocabulary.more_urgent(priority)
        if raised != priority:
            reasons.append(f"plan {plan} raised priority {priority} to {raised}")
            priority = raised
    return Routing(
        category=category or spec.default_category,
        team=team or spec.default_team,
        priority=priority,
        reason="; ".join(reasons) or "defaults",
    )
