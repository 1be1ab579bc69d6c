"""The parts of the support policy file: SLA policies, teams, agents, routing, lifecycle.

The escalation section is `domain.policy.escalation`.

`domain.policy.support` assembles them into `SupportPolicy` and checks the references between them;
these models check only themselves. All are frozen and reject unknown keys, so a typo in the
policy file is an error that names the key instead of a silently ignored setting.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.enums import ChannelId, CountryCode, Metric, PlanId, PriorityId, Status
from domain.sla.durations import Duration, PositiveDuration
from domain.sla.terms import SlaTargets

# Priorities, plans and channels are the policy's own lists (`domain.policy.vocabulary`);
# the references to them below are checked against those lists in `domain.policy.checks`.
STATUSES: tuple[Status, ...] = tuple(Status)
# The clocks a policy sets targets for (the CSAT follow-up is set by the escalation ladder).
METRICS: tuple[Metric, ...] = (Metric.FIRST_RESPONSE, Metric.NEXT_UPDATE, Metric.RESOLUTION)


SlaAction = Literal["notify", "escalate"]
"""What an at-risk point or a breach does: alert the team lead, or climb one level."""


class PolicyModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SlaMatch(PolicyModel):
    """Conditions on a new ticket; each is "any of" the listed values, None matches anything.

    A ticket without a category never matches a policy that lists categories.
    """

    priority: list[PriorityId] | None = Field(default=None, min_length=1)
    plan: list[PlanId] | None = Field(default=None, min_length=1)
    category: list[str] | None = Field(default=None, min_length=1)
    channel: list[ChannelId] | None = Field(default=None, min_length=1)

    def matches(self, *, priority: str, plan: str, category: str | None, channel: str) -> bool:
        return (
            (self.priority is None or priority in self.priority)
            and (self.plan is None or plan in self.plan)
            and (self.category is None or category in self.category)
            and (self.channel is None or channel in self.channel)
        )

    @property
    def is_catch_all(self) -> bool:
        return (self.priority, self.plan, self.category, self.channel) == (None, None, None, None)


def _default_pauses() -> dict[Metric, list[Status]]:
    return {
        Metric.NEXT_UPDATE: [Status.AWAITING_CUSTOMER],
        Metric.RESOLUTION: [Status.AWAITING_CUSTOMER],
    }


class SlaPolicy(PolicyModel):
    """Targets for the tickets its `match` selects. In the file, the first match wins."""

    id: str = Field(min_length=1)
    description: str = ""
    match: SlaMatch
    targets: SlaTargets
    calendar: str
    calendar_by_country: dict[CountryCode, str] = Field(default_factory=dict)
    """Requester country (ISO 3166-1 alpha-2) -> the calendar its tickets run on instead of
    `calendar`; a requester with no country, or another one, gets `calendar`."""
    requester_timezone: bool = False
    """Read the chosen calendar's weekly hours (and its holidays' dates) in the requester's
    time zone when the request names one, instead of the calendar's own."""
    at_risk_percent: list[int] = Field(default_factory=lambda: [80])
    pauses: dict[Metric, list[Status]] = Field(default_factory=_default_pauses)
    reopen: Literal["new_cycle", "continue"] = "new_cycle"
    at_risk_action: SlaAction | None = None
    breach_action: SlaAction | None = None
    """What reaching an at-risk point / a breach does on these tickets; None: the escalation
    section's `at_risk_action` / `breach_action`."""

    @field_validator("at_risk_percent")
    @classmethod
    def _check_percentages(cls, value: list[int]) -> list[int]:
        for percent in value:
            if not 1 <= percent <= 99:
                raise ValueError(f"at-risk percentage {percent} is not between 1 and 99")
        return sorted(set(value))


class TeamSpec(PolicyModel):
    name: str = Field(min_length=1)
    lead: str
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    calendar: str


class AgentSpec(PolicyModel):
    name: str = Field(min_length=1)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    team: str
    skills: list[str] = Field(default_factory=list)
    capacity: int = Field(ge=0, description="Most open tickets the agent is assigned at once.")
    active: bool = True
    languages: list[str] = Field(default_factory=lambda: ["en"], min_length=1)


@lru_cache(maxsize=256)
def _keyword_pattern(keywords: tuple[str, ...]) -> re.Pattern[str]:
    # Whole words only: "down" must not match "download", "api" not "rapid".
    alternatives = "|".join(re.escape(keyword) for keyword in keywords)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


class RoutingRule(PolicyModel):
    """If every given condition holds, the ticket gets the given category, team and priority.

    Conditions: any of `keywords` as a whole word or phrase in the subject or description
    (case-insensitive), any of `channel`, any of `plan`. `priority` applies only when the
    request named none.
    """

    name: str = ""
    keywords: list[str] | None = Field(default=None, min_length=1)
    channel: list[ChannelId] | None = Field(default=None, min_length=1)
    plan: list[PlanId] | None = Field(default=None, min_length=1)
    category: str | None = None
    team: str | None = None
    priority: PriorityId | None = None

    @model_validator(mode="after")
    def _check_rule(self) -> RoutingRule:
        if self.keywords is None and self.channel is None and self.plan is None:
            raise ValueError("a routing rule needs keywords, channel or plan")
        if self.category is None and self.team is None and self.priority is None:
            raise ValueError("a routing rule must set category, team or priority")
        if self.keywords is not None and not all(keyword.strip() for keyword in self.keywords):
            raise ValueError("keywords must not be blank")
        return self

    def matches(self, *, subject: str, description: str, channel: str, plan: str) -> bool:
        if self.channel is not None and channel not in self.channel:
            return False
        if self.plan is not None and plan not in self.plan:
            return False
        if self.keywords is None:
            return True
        pattern = _keyword_pattern(tuple(keyword.strip() for keyword in self.keywords))
        return pattern.search(subject) is not None or pattern.search(description) is not None


class RoutingSpec(PolicyModel):
    """Routing of a new ticket. Rules are tried in order; each of category, team and priority
    comes from the first matching rule that sets it, else from the defaults. A plan listed in
    `raise_priority_for_plans` then moves the priority one step up, to the next more urgent
    priority by rank (P3 -> P2; the most urgent stays)."""

    rules: list[RoutingRule] = Field(default_factory=list)
    raise_priority_for_plans: list[PlanId] = Field(default_factory=list)
    default_category: str
    default_team: str
    default_priority: PriorityId = "P3"


class LifecycleSpec(PolicyModel):
    """Timers of a ticket's life outside the SLA clocks, in seconds."""

    awaiting_customer_reminder_after: Duration = 48 * 3600
    auto_resolve_after_reminder: Duration = 5 * 86400
    auto_close_resolved_after: Duration = 4 * 86400
    reopen_window: Duration = 7 * 86400
    csat_survey_after: Duration = 24 * 3600
    email_delivery_deadline: PositiveDuration = 24 * 3600
    """How long an email is retried (SMTP down, refusing, slow) before it is recorded as
    `notification_failed` and shown to operators."""


class InboundSpec(PolicyModel):
    """Inbound email. `unknown_sender`: what a reply to a ticket becomes when its sender is
    not on the ticket (`domain.intake.senders`): a ticket of its own (`new_ticket`), nothing
    (`reject`), or a ticket of its own that sends no acknowledgment, tagged `quarantine`
    for an agent to review (`quarantine`)."""

    unknown_sender: Literal["new_ticket", "reject", "quarantine"] = "new_ticket"
