"""The escalation ladder as a ticket snapshots it at intake, with recipients resolved."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

MAX_LEVEL = 3


def target_level(current: int, requested: int | None) -> int:
    """The level an escalation moves to: `requested`, or one up (the ladder tops out)."""
    return min(current + 1, MAX_LEVEL) if requested is None else requested


class LadderLevel(BaseModel):
    model_config = ConfigDict(frozen=True)

    level: int
    name: str
    recipients: list[str]


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

    def level(self, number: int) -> LadderLevel | None:
        return next((lv for lv in self.levels if lv.level == number), None)
