"""`IncidentRecord`: the bookkeeping under `Incident` (`domain.incident.aggregate`).

The state and the effects not yet taken by the workflow, and the writes every action
makes through it: a state change, an event with its line in the recent events, a clock
set or met (a met clock is an event too). Nothing here reads a clock or does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.incident import clocks
from domain.incident.state import (
    ClockName,
    IncidentClock,
    IncidentEvent,
    IncidentEventType,
    IncidentState,
)
from domain.ticket.notifications import Notification

RECENT_EVENTS = 5

E = IncidentEventType


@dataclass
class IncidentEffects:
    events: list[IncidentEvent] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)


class IncidentRecord:
    """The state, the effects not yet taken, and the writes every action makes through:
    a state change, an event (and the recent-events line), a clock set or met."""

    def __init__(self, state: IncidentState, mail_domain: str) -> None:
        self.state = state
        self.mail_domain = mail_domain
        self._effects = IncidentEffects()

    def take_effects(self) -> IncidentEffects:
        effects, self._effects = self._effects, IncidentEffects()
        return effects

    def _update(self, **changes: Any) -> None:
        self.state = self.state.model_copy(update=changes)

    def _event(self, type_: IncidentEventType, at: datetime, actor: str, **data: Any) -> int:
        seq = self.state.last_seq + 1
        self._effects.events.append(
            IncidentEvent(
                incident_id=self.state.incident_id,
                seq=seq,
                type=type_,
                at=at,
                actor=actor,
                data=data,
            )
        )
        line = f"#{seq} {type_.value} by {actor} at {at:%Y-%m-%d %H:%M:%S} UTC"
        self._update(
            last_seq=seq,
            updated_at=max(at, self.state.updated_at),
            recent_events=[*self.state.recent_events, line][-RECENT_EVENTS:],
        )
        return seq

    def _set_clock(self, clock: IncidentClock) -> None:
        self._update(clocks={**self.state.clocks, clock.name: clock})

    def _meet(self, name: ClockName, at: datetime) -> None:
        clock = self.state.clocks.get(name)
        if clock is None or not clock.live:
            return
        self._set_clock(clocks.meet(clock, at))
        self._event(E.CLOCK_MET, at, "system", clock=name.value, late=clock.state == "breached")
