"""The policy's `incidents:` block: a major incident's clocks, escalations, approval and the
suggestion thresholds. Checked against the rest of the policy (severities are priority ids,
escalation targets are names of the ladder's levels) by `incident_problems`."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import Field, field_validator

from domain.policy.escalation import EscalationSpec, LevelRef
from domain.policy.models import PolicyModel
from domain.sla.durations import PositiveDuration

Problem = tuple[str, str]


def _seed_cadence() -> dict[str, int]:
    # Facturino and PlumberLeads: every 30 minutes for a platform-wide outage.
    return {"P1": 30 * 60, "P2": 60 * 60}


class IncidentClockAction(PolicyModel):
    """What a clock's at-risk point or breach does: raise the incident to a ladder level."""

    escalate_to: LevelRef
    """A level of the escalation ladder, by number or by name."""


class SuggestionSpec(PolicyModel):
    """Clusters of recent open tickets that may be one incident (`/v1/incidents/suggestions`)."""

    window: PositiveDuration = 2 * 3600
    """Only tickets created this recently count."""
    min_tickets: int = Field(default=3, ge=2)
    """A cluster needs at least this many tickets sharing a category and a keyword."""


class IncidentSpec(PolicyModel):
    """Major incidents (`IncidentWorkflow`). Clocks run on wall time (24x7): an outage has no
    business hours. `update_every` is per severity (a priority id); a severity without an
    entry has no update cadence."""

    acknowledge: PositiveDuration = 15 * 60
    """From declaration until the commander acknowledges."""
    first_notice: PositiveDuration = 15 * 60
    """From declaration until the first public update reaches the linked customers."""
    update_every: dict[str, PositiveDuration] = Field(default_factory=_seed_cadence)
    """The most time between two public updates while the incident is not resolved."""
    report_due: PositiveDuration = 24 * 3600
    """From resolution until the post-incident report is submitted."""
    at_risk_percent: int = Field(default=80, ge=1, le=99)
    at_risk: IncidentClockAction | None = None
    breach: IncidentClockAction | None = None
    approval_required: bool = False
    """Public updates wait for a manager's approval before they go out (PlumberLeads)."""
    approvers: list[str] = Field(default_factory=list)
    """Agent ids who may approve a public update; admin tokens always may."""
    broadcast_batch: int = Field(default=100, ge=1, le=1000)
    """Tickets per fan-out activity: one batch is retried as a whole after a crash."""
    suggestions: SuggestionSpec = SuggestionSpec()

    @field_validator("approvers")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


def incident_problems(
    spec: IncidentSpec,
    *,
    priorities: Iterable[str],
    escalation: EscalationSpec,
    agents: Iterable[str],
) -> list[Problem]:
    """Dangling references of the `incidents:` block."""
    known_priorities, known_agents = set(priorities), set(agents)
    problems: list[Problem] = [
        (f"incidents.update_every.{severity}", f"unknown priority {severity!r}")
        for severity in spec.update_every
        if severity not in known_priorities
    ]
    for name, action in (("at_risk", spec.at_risk), ("breach", spec.breach)):
        if action is not None and escalation.level_number(action.escalate_to) is None:
            problems.append(
                (
                    f"incidents.{name}.escalate_to",
                    f"unknown escalation level {action.escalate_to!r}",
                )
            )
    problems += [
        ("incidents.approvers", f"unknown agent {agent!r}")
        for agent in spec.approvers
        if agent not in known_agents
    ]
    return problems
