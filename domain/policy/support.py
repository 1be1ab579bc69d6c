"""The support policy as one validated whole, and the SLA a new ticket gets from it.

A `SupportPolicy` instance is always internally consistent: every calendar, team, agent,
category and language it names exists, and some SLA policy matches every ticket. Pure:
`parse_policy` takes already-parsed data; reading the YAML file is `runtime.policy_file`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field, ValidationError, model_validator

from domain.enums import Channel, Plan, Priority
from domain.policy.checks import Problem, reference_problems
from domain.policy.incidents import IncidentSpec, incident_problems
from domain.policy.models import (
    AgentSpec,
    EscalationSpec,
    InboundSpec,
    LifecycleSpec,
    PolicyModel,
    RoutingSpec,
    SlaPolicy,
    TeamSpec,
)
from domain.sla.calendar import CalendarSpec
from domain.sla.terms import SlaSnapshot


class PolicyError(Exception):
    """An invalid policy: every problem found, each as (key path, message)."""

    def __init__(self, problems: Sequence[Problem], source: str = "<policy>") -> None:
        self.problems = list(problems)
        self.source = source
        super().__init__(self.problems)

    def __str__(self) -> str:
        return "\n".join(
            f"{path}: {message}" if path else message for path, message in self.problems
        )


class SupportPolicy(PolicyModel):
    """The whole support policy file. Edit it, bump `version`; running tickets keep theirs."""

    version: str = Field(min_length=1)
    calendars: dict[str, CalendarSpec] = Field(min_length=1)
    sla_policies: list[SlaPolicy] = Field(min_length=1)
    categories: list[str] = Field(min_length=1)
    teams: dict[str, TeamSpec] = Field(min_length=1)
    agents: dict[str, AgentSpec] = Field(min_length=1)
    routing: RoutingSpec
    escalation: EscalationSpec
    lifecycle: LifecycleSpec = LifecycleSpec()
    inbound: InboundSpec = InboundSpec()
    incidents: IncidentSpec = IncidentSpec()
    languages: list[str] = Field(default_factory=lambda: ["en", "ms", "mk"], min_length=1)
    default_language: str = "en"
    templates_dir: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _calendar_ids_from_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("calendars"), dict):
            calendars = {
                key: {"id": key, **entry} if isinstance(entry, dict) else entry
                for key, entry in data["calendars"].items()
            }
            data = {**data, "calendars": calendars}
        return data

    @model_validator(mode="after")
    def _check_references(self) -> SupportPolicy:
        problems = reference_problems(self) + incident_problems(
            self.incidents,
            priorities=self.priority_ids(),
            levels=[level.name for level in self.escalation.levels],
            agents=self.agents,
        )
        if problems:
            # Not a ValueError on purpose: pydantic lets it through with its key paths intact.
            raise PolicyError(problems)
        return self

    def priority_ids(self) -> list[str]:
        """The priorities tickets and incidents (as severity) may have, most urgent first."""
        return [priority.value for priority in Priority]

    def select_sla(
        self,
        *,
        priority: Priority | str,
        plan: Plan | str,
        category: str | None,
        channel: Channel | str,
        created_year: int,
    ) -> SlaSnapshot:
        """The first SLA policy matching the ticket, with its calendar resolved for
        `created_year` and the two following years: the snapshot the ticket keeps.

        Resolving asks the `holidays` package, so call this outside workflow code (API or an
        activity) and hand the workflow the result."""
        for policy in self.sla_policies:
            if policy.match.matches(
                priority=priority, plan=plan, category=category, channel=channel
            ):
                return SlaSnapshot(
                    policy_id=policy.id,
                    policy_version=self.version,
                    targets=policy.targets,
                    calendar=self.calendars[policy.calendar].resolved(created_year),
                    at_risk_percent=list(policy.at_risk_percent),
                    pauses={metric: list(statuses) for metric, statuses in policy.pauses.items()},
                    reopen=policy.reopen,
                    reason=_match_reason(policy, priority, plan, category, channel),
                )
        # Unreachable for a validated policy: some policy matches every ticket.
        raise LookupError(f"no SLA policy matches priority={priority}, plan={plan}")


def parse_policy(data: object, source: str = "<policy>") -> SupportPolicy:
    """A validated policy from already-parsed YAML/JSON data; PolicyError lists every problem."""
    try:
        return SupportPolicy.model_validate(data)
    except ValidationError as error:
        raise PolicyError(_validation_problems(error), source) from None
    except PolicyError as error:
        raise PolicyError(error.problems, source) from None


def _match_reason(
    policy: SlaPolicy, priority: str, plan: str, category: str | None, channel: str
) -> str:
    given = {"priority": priority, "plan": plan, "category": category, "channel": channel}
    conditions = [
        f"{name}={value}"
        for name, value in given.items()
        if getattr(policy.match, name) is not None
    ]
    if not conditions:
        return f"policy {policy.id!r} matched as the catch-all"
    return f"policy {policy.id!r} matched {', '.join(conditions)}"


def _validation_problems(error: ValidationError) -> list[Problem]:
    problems: list[Problem] = []
    for item in error.errors():
        location = [str(part) for part in item["loc"]]
        is_key = bool(location) and location[-1] == "[key]"
        path = ".".join(location[:-1] if is_key else location)
        kind = item["type"]
        context = item.get("ctx") or {}
        if kind == "extra_forbidden":
            message = "unknown key"
        elif kind == "missing":
            message = "missing required key"
        elif kind in {"value_error", "assertion_error"} and "error" in context:
            message = str(context["error"])
        elif not location and kind in {"model_type", "model_attributes_type", "dict_type"}:
            message = "the policy must be a mapping of keys to values"
        else:
            message = item["msg"]
            if isinstance(item.get("input"), str | int | float | bool):
                message = f"{message}, got {item['input']!r}"
        problems.append((path, f"invalid key: {message}" if is_key else message))
    return problems
