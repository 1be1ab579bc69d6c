"""The support policy as one validated whole, and the SLA a new ticket gets from it.

A `SupportPolicy` instance is always internally consistent: every calendar, team, agent,
category and language it names exists, and some SLA policy matches every ticket. Pure:
`parse_policy` takes already-parsed data; reading the YAML file is `runtime.policy_file`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

from domain.policy.approvals import ApprovalsSpec
from domain.policy.checks import Problem, reference_problems
from domain.policy.customer import BrandSpec, CsatSpec, EmailsSpec, LanguageRule
from domain.policy.escalation import EscalationSpec
from domain.policy.incidents import IncidentSpec, incident_problems
from domain.policy.models import (
    AgentSpec,
    InboundSpec,
    LifecycleSpec,
    PolicyModel,
    RoutingSpec,
    SlaPolicy,
    TeamSpec,
)
from domain.policy.vocabulary import (
    CategorySpec,
    ChannelSpec,
    PlanSpec,
    PrioritySpec,
    Vocabulary,
    default_channels,
    default_plans,
    default_priorities,
)
from domain.sla.calendar import CalendarSpec
from domain.sla.terms import SlaSnapshot

_LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")


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
    priorities: list[PrioritySpec] = Field(default_factory=default_priorities, min_length=1)
    plans: list[PlanSpec] = Field(default_factory=default_plans, min_length=1)
    channels: list[ChannelSpec] = Field(default_factory=default_channels, min_length=1)
    calendars: dict[str, CalendarSpec] = Field(min_length=1)
    sla_policies: list[SlaPolicy] = Field(min_length=1)
    categories: list[CategorySpec] = Field(min_length=1)
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
    brand: BrandSpec = BrandSpec()
    emails: EmailsSpec = EmailsSpec()
    csat: CsatSpec = CsatSpec()
    language_rules: dict[str, LanguageRule] = Field(default_factory=dict)
    """Per language; a language given here replaces that language's defaults
    (`domain.policy.customer`), the others keep theirs."""
    approvals: ApprovalsSpec = ApprovalsSpec()

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

    def language_for(self, plan: str, language: str) -> str:
        """The language a requester on `plan` is written to in: theirs when the plan is
        entitled to it (`plans[].languages`; `es` covers `es-MX`), else the default."""
        spec = next((p for p in self.plans if p.id == plan), None)
        entitled = spec.languages if spec is not None else None
        if entitled is None or language in entitled or language.split("-")[0] in entitled:
            return language
        return self.default_language

    @property
    def survey_delay(self) -> int:
        """Seconds from resolving or closing (`csat.send_after`) to the survey."""
        return self.csat.delay if self.csat.delay is not None else self.lifecycle.csat_survey_after

    @model_validator(mode="after")
    def _check_references(self) -> SupportPolicy:
        problems = reference_problems(self) + incident_problems(
            self.incidents,
            priorities=self.vocabulary.priority_ids,
            escalation=self.escalation,
            agents=self.agents,
        )
        for language in self.language_rules:
            if not _LANGUAGE_TAG.match(language):
                problems.append((f"language_rules.{language}", "not a language tag such as 'es'"))
        if self.csat.delay is not None and "csat_survey_after" in self.lifecycle.model_fields_set:
            problems.append(
                (
                    "csat.delay",
                    "give the survey delay once: lifecycle.csat_survey_after is its older name",
                )
            )
        if problems:
            # Not a ValueError on purpose: pydantic lets it through with its key paths intact.
            raise PolicyError(problems)
        return self

    @field_validator("categories", mode="before")
    @classmethod
    def _bare_category_ids(cls, value: object) -> object:
        """`[billing, technical]` is short for `[{id: billing}, {id: technical}]`."""
        if isinstance(value, list):
            return [{"id": item} if isinstance(item, str) else item for item in value]
        return value

    @property
    def category_ids(self) -> list[str]:
        return [c.id for c in self.categories]

    @cached_property
    def vocabulary(self) -> Vocabulary:
        """The priorities, plans, channels and categories, with their order and labels."""
        return Vocabulary(
            priorities=self.priorities,
            plans=self.plans,
            channels=self.channels,
            categories=self.categories,
        )

    def select_sla(
        self,
        *,
        priority: str,
        plan: str,
        category: str | None,
        channel: str,
        created_year: int,
        requester_country: str | None = None,
        requester_timezone: str | None = None,
    ) -> SlaSnapshot:
        """The first SLA policy matching the ticket, with its calendar resolved for
        `created_year` and the two following years: the snapshot the ticket keeps. The
        requester's country and time zone choose the calendar where the policy says so
        (`calendar_by_country`, `requester_timezone`).

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
                    calendar=self._calendar_for(
                        policy, requester_country, requester_timezone
                    ).resolved(created_year),
                    at_risk_percent=list(policy.at_risk_percent),
                    pauses={metric: list(statuses) for metric, statuses in policy.pauses.items()},
                    reopen=policy.reopen,
                    reason=_match_reason(policy, priority, plan, category, channel)
                    + _clock_reason(policy, requester_country, requester_timezone),
                    at_risk_action=policy.at_risk_action or self.escalation.at_risk_action,
                    breach_action=policy.breach_action or self.escalation.breach_action,
                )
        # Unreachable for a validated policy: some policy matches every ticket.
        raise LookupError(f"no SLA policy matches priority={priority}, plan={plan}")

    def _calendar_for(
        self, policy: SlaPolicy, country: str | None, timezone: str | None
    ) -> CalendarSpec:
        """The policy's calendar for this requester: by country if the policy maps it, read in
        the requester's time zone if the policy says so and the requester named one."""
        calendar_id = policy.calendar
        if country is not None and country in policy.calendar_by_country:
            calendar_id = policy.calendar_by_country[country]
        calendar = self.calendars[calendar_id]
        if policy.requester_timezone and timezone:
            calendar = calendar.model_copy(update={"timezone": timezone})
        return calendar


def parse_policy(data: object, source: str = "<policy>") -> SupportPolicy:
    """A validated policy from already-parsed YAML/JSON data; PolicyError lists every problem."""
    try:
        return SupportPolicy.model_validate(data)
    except ValidationError as error:
        raise PolicyError(_validation_problems(error), source) from None
    except PolicyError as error:
        raise PolicyError(error.problems, source) from None


def _clock_reason(policy: SlaPolicy, country: str | None, timezone: str | None) -> str:
    """How the requester chose the clock, if it did (no personal data: no zone name)."""
    notes = []
    if country is not None and country in policy.calendar_by_country:
        notes.append(f"calendar {policy.calendar_by_country[country]!r} by requester country")
    if policy.requester_timezone and timezone:
        notes.append("hours in the requester's time zone")
    return "".join(f"; {note}" for note in notes)


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
