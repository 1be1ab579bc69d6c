"""What is decided once, at intake, for a ticket's whole life: routing and the snapshots.

Pure (the policy is passed in), so the API, tests and benchmarks start tickets the same way.
"""

from __future__ import annotations

from datetime import datetime

from domain.intake.routing import Routing, route
from domain.policy.support import SupportPolicy
from domain.ticket.ladder import EscalationSnapshot, LadderLevel
from domain.ticket.requests import TicketCreate
from domain.ticket.state import TicketStarted


def decide(
    policy: SupportPolicy,
    *,
    ticket_id: str,
    request: TicketCreate,
    created_at: datetime,
    mail_domain: str,
    routed: Routing | None = None,
    assignee: str | None = None,
    related_ticket_id: str | None = None,
    acknowledge: bool = True,
) -> TicketStarted:
    """The workflow input for a new ticket: routing, the SLA policy with its calendar resolved,
    the lifecycle timers and the escalation ladder, as the policy stands now."""
    routed = routed or route(policy, request)
    sla = policy.select_sla(
        priority=routed.priority,
        plan=request.requester.plan,
        category=routed.category,
        channel=request.channel,
        created_year=created_at.year,
    )
    return TicketStarted(
        ticket_id=ticket_id,
        request=request,
        created_at=created_at,
        priority=routed.priority,
        category=routed.category,
        team=routed.team,
        assignee=assignee,
        sla=sla,
        lifecycle=policy.lifecycle,
        escalation=escalation_snapshot(policy),
        related_ticket_id=related_ticket_id,
        approvals=policy.approvals,
        mail_domain=mail_domain,
        acknowledge=acknowledge,
    )


def escalation_snapshot(policy: SupportPolicy) -> EscalationSnapshot:
    """The ladder as `policy` stands now, every recipient resolved to an address."""
    spec = policy.escalation
    levels = []
    for lv in spec.levels:
        recipients = [policy.teams[lv.notify_team].email] if lv.notify_team else []
        recipients += [policy.agents[a].email for a in lv.notify_agents]
        levels.append(LadderLevel(level=lv.level, name=lv.name, recipients=recipients))
    return EscalationSnapshot(
        levels=levels,
        unresolved_after=dict(spec.unresolved_after),
        reopen_threshold=spec.reopen_threshold,
        low_csat_threshold=spec.low_csat_threshold,
        team_leads={tid: policy.agents[team.lead].email for tid, team in policy.teams.items()},
    )
