"""What is decided once, at intake, for a ticket's whole life: routing and the snapshots.

Pure (the policy is passed in), so the API, tests and benchmarks start tickets the same way.
"""

from __future__ import annotations

from datetime import datetime

from domain.intake.routing import Routing, route
from domain.policy.customer import merged_language_rules
from domain.policy.support import SupportPolicy
from domain.ticket.correspondence import MailSnapshot
from domain.ticket.ladder import (
    ContentTrigger,
    EscalationSnapshot,
    LadderLevel,
    LadderStep,
    TicketLadder,
)
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
    language = policy.language_for(request.requester.plan, request.requester.language)
    if language != request.requester.language:
        requester = request.requester.model_copy(update={"language": language})
        request = request.model_copy(update={"requester": requester})
    routed = routed or route(policy, request)
    sla = policy.select_sla(
        priority=routed.priority,
        plan=request.requester.plan,
        category=routed.category,
        channel=request.channel,
        created_year=created_at.year,
        requester_country=request.requester.country,
        requester_timezone=request.requester.timezone,
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
        lifecycle=policy.lifecycle.model_copy(update={"csat_survey_after": policy.survey_delay}),
        escalation=escalation_snapshot(policy),
        mail=mail_snapshot(policy),
        related_ticket_id=related_ticket_id,
        approvals=policy.approvals,
        mail_domain=mail_domain,
        acknowledge=acknowledge,
    )


def escalation_snapshot(policy: SupportPolicy) -> EscalationSnapshot:
    """The ladder as `policy` stands now, every recipient resolved to an address and every
    level reference to its number."""
    spec = policy.escalation

    def number(ref: int | str) -> int:
        found = spec.level_number(ref)
        if found is None:  # unreachable: EscalationSpec rejects unknown levels
            raise LookupError(f"no escalation level {ref!r}")
        return found

    levels = []
    for lv in spec.levels:
        recipients = [policy.teams[lv.notify_team].email] if lv.notify_team else []
        recipients += [policy.agents[a].email for a in lv.notify_agents]
        recipients += [e for e in lv.notify_emails if e not in recipients]
        levels.append(
            LadderLevel(
                level=lv.level, name=lv.name, names=lv.names, recipients=recipients, team=lv.team
            )
        )
    ladders = [
        TicketLadder(
            name=ladder.name or f"ladder {index}",
            match=ladder.match,
            start_level=number(ladder.start_level),
            steps=[
                LadderStep(
                    to=number(step.to), after_seconds=step.after, since=step.since, when=step.when
                )
                for step in ladder.steps
            ],
        )
        for index, ladder in enumerate(spec.ladders)
    ]
    triggers = [
        ContentTrigger(
            name=trigger.name,
            keywords=[word for words in trigger.keywords.values() for word in words],
            to=number(trigger.to),
        )
        for trigger in spec.content_triggers
    ]
    followup = spec.low_csat_followup
    return EscalationSnapshot(
        levels=levels,
        unresolved_after=dict(spec.unresolved_after),
        reopen_threshold=spec.reopen_threshold,
        low_csat_threshold=spec.low_csat_threshold,
        team_leads={tid: policy.agents[team.lead].email for tid, team in policy.teams.items()},
        csat_followup_seconds=followup.target,
        csat_followup_level=None if followup.to is None else number(followup.to),
        ladders=ladders,
        content_triggers=triggers,
    )


def mail_snapshot(policy: SupportPolicy) -> MailSnapshot:
    """The customer-email switches, the survey's timing and the escalation words (of every
    language the rules name: a customer may ask for a manager in any of them)."""
    rules = merged_language_rules(policy.language_rules)
    words = [word for rule in rules.values() for word in rule.escalation_words]
    return MailSnapshot(
        disabled=list(policy.emails.disabled),
        status_changes=list(policy.emails.status_changes),
        survey_after=policy.csat.send_after,
        link_ttl=policy.csat.link_ttl,
        escalation_words=list(dict.fromkeys(words)),
    )
