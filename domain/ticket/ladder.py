"""The escalation ladder as a ticket snapshots it at intake: every recipient resolved to an
address and every level reference to a number, so the workflow never reads configuration.

Every field defaults to what a ticket did before it existed, so the snapshots in recorded
histories (four levels, no ladders, no triggers) decide exactly as they did.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.enums import in_language
from domain.policy.models import SlaMatch

MAX_LEVEL = 3
"""The top of a snapshot that lists no levels (tickets built by hand in tests)."""


class LadderLevel(BaseModel):
    model_config = ConfigDict(frozen=True)

    level: int
    name: str
    names: dict[str, str] = {}
    """The name by language, for the customer's escalation notice (policy `names:`)."""
    recipients: list[str]
    team: str | None = None
    """Reaching this level (upwards) moves the ticket to this team's queue."""

    def name_in(self, language: str) -> str:
        return in_language(self.names, language, self.name)


class LadderStep(BaseModel):
    model_config = ConfigDict(frozen=True)

    to: int
    after_seconds: int
    since: Literal["previous", "created"] = "previous"
    when: SlaMatch | None = None


class TicketLadder(BaseModel):
    """One of the policy's `escalation.ladders`, its level names resolved."""

    model_config = ConfigDict(frozen=True)

    name: str
    match: SlaMatch
    start_level: int = 0
    steps: list[LadderStep] = []


class ContentTrigger(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    keywords: list[str]
    """Every language's keywords together."""
    to: int

    def matches(self, text: str) -> bool:
        return keyword_pattern(tuple(self.keywords)).search(text) is not None


@lru_cache(maxsize=256)
def keyword_pattern(keywords: tuple[str, ...]) -> re.Pattern[str]:
    """Any of `keywords` as a whole word or phrase, case-insensitively ("leak" is not in
    "leaked"); the same rule as the routing keywords."""
    alternatives = "|".join(re.escape(keyword.strip()) for keyword in keywords)
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


class EscalationSnapshot(BaseModel):
    """The ladder as it stood when the ticket was created."""

    model_config = ConfigDict(frozen=True)

    levels: list[LadderLevel] = []
    unresolved_after: dict[str, int] = {}
    """Priority id -> seconds unresolved before the next automatic escalation."""
    reopen_threshold: int = 3
    low_csat_threshold: int = 3
    team_leads: dict[str, str] = {}
    """Team id → the lead's address: who hears that a clock is at risk."""
    csat_followup_seconds: int = 12 * 3600
    csat_followup_level: int | None = None
    """Where a low score escalates to; None: one level up."""
    ladders: list[TicketLadder] = []
    """Tried in order by the ticket's priority, plan, category and channel; the first match
    is its path. None matching: `unresolved_after`."""
    content_triggers: list[ContentTrigger] = []

    def level(self, number: int) -> LadderLevel | None:
        return next((lv for lv in self.levels if lv.level == number), None)

    @property
    def top_level(self) -> int:
        return max((lv.level for lv in self.levels), default=MAX_LEVEL)

    def target_level(self, current: int, requested: int | None) -> int:
        """The level an escalation moves to: `requested`, or one up (the ladder tops out)."""
        return min(current + 1, self.top_level) if requested is None else requested

    def ladder_for(
        self, *, priority: str, plan: str, category: str | None, channel: str
    ) -> int | None:
        """The index of the first ladder whose `match` holds for the ticket, if any."""
        for index, ladder in enumerate(self.ladders):
            if ladder.match.matches(
                priority=priority, plan=plan, category=category, channel=channel
            ):
                return index
        return None
