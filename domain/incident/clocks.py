"""The incident's clocks: acknowledge, first notice, update cadence, post-incident report.

Wall-clock arithmetic (an outage has no business hours): a clock is at risk once
`at_risk_percent` of its target has passed and breached at its due second; meeting it late
keeps the breach on record. Pure: no clock is read, `at` is always given.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.incident.state import ClockName, IncidentClock, IncidentState


def start(
    name: ClockName, at: datetime, seconds: int, previous: IncidentClock | None = None
) -> IncidentClock:
    cycle = previous.cycle + 1 if previous is not None else 1
    return IncidentClock(
        name=name,
        cycle=cycle,
        started_at=at,
        due_at=at + timedelta(seconds=seconds),
        at_risk_at=at + timedelta(seconds=seconds),
    )


def start_with_risk(
    name: ClockName,
    at: datetime,
    seconds: int,
    percent: int,
    previous: IncidentClock | None = None,
) -> IncidentClock:
    clock = start(name, at, seconds, previous)
    return clock.model_copy(update={"at_risk_at": at + timedelta(seconds=seconds * percent / 100)})


def meet(clock: IncidentClock, at: datetime) -> IncidentClock:
    return clock.model_copy(update={"state": "met", "met_at": at})


def cancel(clock: IncidentClock) -> IncidentClock:
    return clock.model_copy(update={"state": "cancelled"})


def next_point(clock: IncidentClock) -> datetime | None:
    """The clock's next at-risk point or breach, if it still has one."""
    if clock.state != "running":
        return None
    if not clock.at_risk_fired and clock.at_risk_at < clock.due_at:
        return clock.at_risk_at
    return clock.due_at


def next_deadline(state: IncidentState) -> datetime | None:
    points = [next_point(clock) for clock in state.clocks.values()]
    return min((p for p in points if p is not None), default=None)


def summary(state: IncidentState, due: datetime | None) -> str:
    """What the timer set for `due` waits for, for operators."""
    if due is None:
        return "waiting"
    for clock in state.clocks.values():
        if next_point(clock) == due:
            kind = (
                "breach" if clock.at_risk_fired or clock.at_risk_at >= clock.due_at else "at risk"
            )
            return f"{clock.name.value} {kind} at {due:%Y-%m-%d %H:%M:%S} UTC"
    return "waiting"
