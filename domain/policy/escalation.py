"""The escalation section of the policy file: the levels, the ladders that climb them by
time, the content triggers, what an at-risk point and a breach do, and the low-score
follow-up.

A level is named by its number or its name wherever the file points at one (`to`,
`start_level`); `EscalationSpec.level_number` resolves both. Those references, and those
to teams and agents, are checked with the rest of the policy (`domain.policy.checks`).
A ticket snapshots all of it at intake, resolved (`domain.intake.decide.escalation_snapshot`).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from domain.enums import LanguageTag, PriorityId
from domain.policy.models import PolicyModel, SlaAction, SlaMatch
from domain.sla.durations import PositiveDuration

LevelName = Annotated[str, StringConstraints(min_length=1, max_length=100)]

LevelRef = int | str
"""A level by number (0, 1, ...) or by name ("DevOps")."""

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+$"


class EscalationLevel(PolicyModel):
    """One rung. Reaching it (upwards) alerts its audience; if it names a `team`, the ticket
    moves to that team's queue (unassigned, dispatched to an agent with capacity)."""

    level: int = Field(ge=0)
    name: str = Field(min_length=1)
    names: dict[LanguageTag, LevelName] = {}
    """The name in the customer's language for their escalation notice (`{sq: "…"}`);
    another language gets `name`. Staff alerts always say `name`."""
    team: str | None = None
    notify_team: str | None = None
    notify_agents: list[str] = Field(default_factory=list)
    notify_emails: list[str] = Field(default_factory=list)
    """Role addresses (cto@..., support-director@...) that are no agent of the desk."""

    @field_validator("notify_emails")
    @classmethod
    def _check_emails(cls, value: list[str]) -> list[str]:
        bad = [email for email in value if re.match(EMAIL_PATTERN, email) is None]
        if bad:
            raise ValueError(f"not an email address: {', '.join(bad)}")
        return value

    @model_validator(mode="after")
    def _check_audience(self) -> EscalationLevel:
        if self.notify_team is None and not self.notify_agents and not self.notify_emails:
            raise ValueError(
                "an escalation level needs notify_team, notify_agents or notify_emails"
            )
        return self


class LadderStep(PolicyModel):
    """Climb to `to` once the ticket has been unresolved for `after` (business time of its
    SLA calendar, pauses excluded), counted since it reached its current level
    (`since: previous`) or since it was created (`since: created`). A step whose `when` does
    not hold for the ticket is skipped; a step to a level the ticket is at or above already
    changes nothing."""

    to: LevelRef
    after: PositiveDuration
    since: Literal["previous", "created"] = "previous"
    when: SlaMatch | None = None


class Ladder(PolicyModel):
    """The automatic path of the tickets `match` selects (the first matching ladder wins)."""

    name: str = ""
    match: SlaMatch = SlaMatch()
    start_level: LevelRef = 0
    """The level a new ticket starts at (silently: nobody is alerted, the team is routing's)."""
    steps: list[LadderStep] = Field(default_factory=list)


class ContentTrigger(PolicyModel):
    """Any of the keywords, as a whole word or phrase (case-insensitive), in a new ticket's
    subject or description or in a customer's reply, escalates the ticket to `to`. Keywords
    are listed per language; a text is checked against every language's list (customers do
    not always write in their profile's language)."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    keywords: dict[str, list[str]] = Field(min_length=1)
    to: LevelRef

    @field_validator("keywords")
    @classmethod
    def _check_keywords(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for language, words in value.items():
            if not words or not all(word.strip() for word in words):
                raise ValueError(f"keywords of {language!r} must be a list of non-blank words")
        return value


class LowCsatFollowup(PolicyModel):
    """A score below `low_csat_threshold` owes the customer a follow-up within `target`
    (business time, a clock of its own) and escalates to `to` (None: one level up)."""

    target: PositiveDuration = 12 * 3600
    to: LevelRef | None = None


def _seed_unresolved_after() -> dict[str, int]:
    return {"P1": 3600, "P2": 4 * 3600, "P3": 24 * 3600, "P4": 72 * 3600}


class EscalationSpec(PolicyModel):
    """The ladder (level 0 first, no gaps) and when a ticket climbs it automatically.

    Without a matching `ladders` entry a ticket climbs one level per multiple of its
    priority's `unresolved_after` (the behaviour before ladders existed)."""

    levels: list[EscalationLevel] = Field(min_length=1)
    unresolved_after: dict[PriorityId, PositiveDuration] = Field(
        default_factory=_seed_unresolved_after
    )
    """Keyed by priority id; every priority of the policy needs an entry (checked with the
    policy's `priorities` in `domain.policy.checks`; the default covers P1-P4)."""
    ladders: list[Ladder] = Field(default_factory=list)
    at_risk_action: SlaAction = "notify"
    breach_action: SlaAction = "escalate"
    content_triggers: list[ContentTrigger] = Field(default_factory=list)
    reopen_threshold: int = Field(default=3, ge=1)
    low_csat_threshold: int = Field(default=3, ge=1, le=5)
    low_csat_followup: LowCsatFollowup = LowCsatFollowup()

    @field_validator("levels")
    @classmethod
    def _check_ladder(cls, value: list[EscalationLevel]) -> list[EscalationLevel]:
        numbers = [level.level for level in value]
        if numbers != list(range(len(numbers))):
            raise ValueError(f"levels must be listed as 0, 1, 2, ... in order, got {numbers}")
        names = [level.name for level in value]
        if len(set(names)) != len(names):
            raise ValueError(f"level names must be unique, got {names}")
        return value

    def level_references(self) -> list[tuple[str, LevelRef]]:
        """Every place that names a level, with its key path."""
        refs: list[tuple[str, LevelRef]] = []
        for i, ladder in enumerate(self.ladders):
            refs.append((f"ladders.{i}.start_level", ladder.start_level))
            refs += [(f"ladders.{i}.steps.{j}.to", step.to) for j, step in enumerate(ladder.steps)]
        refs += [(f"content_triggers.{i}.to", t.to) for i, t in enumerate(self.content_triggers)]
        if self.low_csat_followup.to is not None:
            refs.append(("low_csat_followup.to", self.low_csat_followup.to))
        return refs

    def level_number(self, ref: LevelRef) -> int | None:
        """The number of the level `ref` names (by number or by name), None if none."""
        for level in self.levels:
            if ref == level.level or ref == level.name:
                return level.level
        return None
