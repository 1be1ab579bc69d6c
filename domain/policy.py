"""The support policy: one YAML file, validated whole, and the SLA choice for a new ticket.

Only `load_policy` touches the file system (the API and the worker call it at start-up). The
rest is pure, so the workflow sandbox may import this module; `yaml` is imported lazily.
A `SupportPolicy` instance is always internally consistent: every calendar, team, agent,
category and language it names exists, and some SLA policy matches every ticket.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator

from domain.calendar import CalendarSpec
from domain.policy_checks import Problem, reference_problems
from domain.policy_models import (
    CHANNELS,
    METRICS,
    PLANS,
    PRIORITIES,
    STATUSES,
    AgentSpec,
    Channel,
    EscalationLevel,
    EscalationSpec,
    LifecycleSpec,
    Metric,
    Plan,
    PolicyModel,
    Priority,
    RoutingRule,
    RoutingSpec,
    SlaMatch,
    SlaPolicy,
    SlaSelection,
    SlaTargets,
    Status,
    TeamSpec,
)

__all__ = [
    "CHANNELS",
    "METRICS",
    "PLANS",
    "PRIORITIES",
    "STATUSES",
    "AgentSpec",
    "Channel",
    "EscalationLevel",
    "EscalationSpec",
    "LifecycleSpec",
    "Metric",
    "Plan",
    "PolicyError",
    "Priority",
    "RoutingRule",
    "RoutingSpec",
    "SlaMatch",
    "SlaPolicy",
    "SlaSelection",
    "SlaTargets",
    "Status",
    "SupportPolicy",
    "TeamSpec",
    "load_policy",
    "parse_policy",
]


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
        problems = reference_problems(self)
        if problems:
            # Not a ValueError on purpose: pydantic lets it through with its key paths intact.
            raise PolicyError(problems)
        return self

    def select_sla(
        self,
        *,
        priority: Priority | str,
        plan: Plan | str,
        category: str | None,
        channel: Channel | str,
        created_year: int,
    ) -> SlaSelection:
        """The first SLA policy matching the ticket, with its calendar resolved for
        `created_year` and the two following years: the snapshot the ticket keeps.

        Resolving asks the `holidays` package, so call this outside workflow code (API or an
        activity) and hand the workflow the result."""
        for policy in self.sla_policies:
            if policy.match.matches(
                priority=priority, plan=plan, category=category, channel=channel
            ):
                return SlaSelection(
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


def load_policy(path: str | Path) -> SupportPolicy:
    """Read and validate the policy file. The only function here that does I/O."""
    import yaml

    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        message = f"cannot read policy file {source}: {error.strerror}"
        raise PolicyError([("", message)], source) from None
    try:
        data = yaml.load(text, Loader=_unique_key_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        message = f"invalid YAML in {source}: {_yaml_message(error)}"
        raise PolicyError([("", message)], source) from None
    return parse_policy(data, source)


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


def _yaml_message(error: Exception) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    if mark is None:
        return str(problem)
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"


def _unique_key_loader() -> type:
    """A yaml SafeLoader that rejects a key given twice in one mapping (YAML keeps the last)."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            seen: set[object] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if not isinstance(key, Hashable):
                    continue  # SafeLoader reports unhashable keys itself
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark
                    )
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return UniqueKeyLoader
