"""The SLA terms a ticket runs on: the targets, and the snapshot it keeps for its whole life.

The policy file writes `SlaTargets` inside each SLA policy (`domain.policy.models`); at
creation the chosen policy becomes an `SlaSnapshot` (`SupportPolicy.select_sla`), which is
all the clocks (`domain.sla.clocks`) ever consult.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.enums import Metric, Status
from domain.sla.calendar import CalendarSpec
from domain.sla.durations import BusinessDays, SlaTarget


class SlaTargets(BaseModel):
    """Business-time targets: seconds, or business days ("3bd"); None means the policy runs no
    such clock."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    first_response: SlaTarget | None = None
    next_update: SlaTarget | None = None
    resolution: SlaTarget | None = None

    def for_metric(self, metric: Metric | str) -> int | BusinessDays | None:
        target: int | BusinessDays | None = getattr(self, str(metric), None)
        return target


class SlaSnapshot(BaseModel):
    """What a ticket snapshots at creation: the chosen policy with its calendar resolved.

    Self-contained, so the running ticket never consults the (editable) policy file again.
    """

    model_config = ConfigDict(frozen=True)

    policy_id: str
    policy_version: str
    targets: SlaTargets
    calendar: CalendarSpec
    at_risk_percent: list[int]
    pauses: dict[Metric, list[Status]]
    reopen: Literal["new_cycle", "continue"]
    reason: str
    at_risk_action: Literal["notify", "escalate"] = "notify"
    breach_action: Literal["notify", "escalate"] = "escalate"
    """What an at-risk point and a breach do (the SLA policy's, else the escalation section's;
    the defaults are what every ticket did before the keys existed)."""
