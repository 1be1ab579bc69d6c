"""The terms an incident is declared under, resolved from the policy (by the API)."""

from __future__ import annotations

from domain.errors import DomainError
from domain.incident.state import EscalationTarget, IncidentTerms
from domain.policy.incidents import IncidentClockAction
from domain.policy.support import SupportPolicy


class UnknownSeverity(DomainError):
    status_code = 422
    code = "validation_error"


def check_severity(policy: SupportPolicy, severity: str) -> None:
    known = policy.vocabulary.priority_ids
    if severity not in known:
        raise UnknownSeverity(
            f"severity: {severity!r} is not a priority of the policy ({', '.join(known)})"
        )


def _target(policy: SupportPolicy, action: IncidentClockAction | None) -> EscalationTarget | None:
    if action is None:
        return None
    number = policy.escalation.level_number(action.escalate_to)
    for level in policy.escalation.levels:
        if level.level == number:
            recipients = []
            if level.notify_team is not None:
                recipients.append(policy.teams[level.notify_team].email)
            recipients += [policy.agents[a].email for a in level.notify_agents]
            recipients += level.notify_emails
            return EscalationTarget(level=level.level, name=level.name, recipients=recipients)
    return None  # unreachable for a validated policy


def incident_terms(policy: SupportPolicy, severity: str) -> IncidentTerms:
    check_severity(policy, severity)
    spec = policy.incidents
    return IncidentTerms(
        acknowledge=spec.acknowledge,
        first_notice=spec.first_notice,
        update_every=spec.update_every.get(severity),
        report_due=spec.report_due,
        at_risk_percent=spec.at_risk_percent,
        at_risk=_target(policy, spec.at_risk),
        breach=_target(policy, spec.breach),
        approval_required=spec.approval_required,
        broadcast_batch=spec.broadcast_batch,
        policy_version=policy.version,
    )
