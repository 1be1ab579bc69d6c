"""A ticket's SLA clocks: started, met, cancelled, paused by status, advanced by time.

The arithmetic is `domain.sla.clocks`; this module keeps the ticket's clocks in its state
and puts what they do on the timeline (`sla_at_risk`, `sla_breached`, `sla_met`,
`sla_paused`, `sla_resumed`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.enums import EventType, Metric, Status
from domain.sla import clocks as sla
from domain.sla.calendar import Interval
from domain.sla.clocks import SlaClock, SlaTransition
from domain.ticket.change import SYSTEM, Change
from domain.ticket.state import TicketState

_TRANSITION_EVENTS = {
    "at_risk": EventType.SLA_AT_RISK,
    "breached": EventType.SLA_BREACHED,
    "met": EventType.SLA_MET,
}


def set_clock(change: Change, clock: SlaClock) -> None:
    change.update(clocks={**change.state.clocks, clock.metric: clock})


def start(change: Change, metric: Metric, at: datetime) -> None:
    """Start a new cycle of `metric`, archiving the previous one."""
    previous = change.state.clocks.get(metric)
    cycle = previous.cycle + 1 if previous else 1
    if previous is not None:
        change.update(clock_history=[*change.state.clock_history, sla.cancel(previous)])
    clock = sla.start_clock(change.state.sla, metric, at, cycle)
    if clock is None:
        clocks = dict(change.state.clocks)
        clocks.pop(metric, None)
        change.update(clocks=clocks)
        return
    set_clock(change, clock)
    apply_pauses(change, at)


def meet(change: Change, metric: Metric, at: datetime) -> bool:
    clock = change.state.clocks.get(metric)
    if clock is None or not clock.is_live:
        return False
    met, transitions = sla.meet(clock, at)
    set_clock(change, met)
    record(change, transitions)
    return True


def cancel(change: Change, metric: Metric) -> None:
    clock = change.state.clocks.get(metric)
    if clock is not None and clock.is_live:
        set_clock(change, sla.cancel(clock))


def public_response(change: Change, at: datetime) -> None:
    """An agent's public message: meets first response and this update cycle, starts the
    next one."""
    meet(change, Metric.FIRST_RESPONSE, at)
    if change.state.first_responded_at is None:
        change.update(first_responded_at=at)
    meet(change, Metric.NEXT_UPDATE, at)
    if change.state.status not in (Status.RESOLVED, Status.CLOSED):
        start(change, Metric.NEXT_UPDATE, at)


def restart_resolution(change: Change, at: datetime) -> None:
    """On reopening, per the policy: a new resolution cycle, or the old one continued (the
    resolved time counted as a pause)."""
    clock = change.state.clocks.get(Metric.RESOLUTION)
    if clock is None or clock.met_at is None or change.state.sla.reopen == "new_cycle":
        start(change, Metric.RESOLUTION, at)
        return
    continued = clock.model_copy(
        update={
            "met_at": None,
            "state": "breached" if clock.breached_at else "running",
            "pauses": [*clock.pauses, Interval(start=clock.met_at, end=at)],
        }
    )
    set_clock(change, sla.retarget(change.state.sla, continued, continued.target_seconds))


def apply_pauses(change: Change, at: datetime) -> None:
    """Pause the clocks the current status pauses (per the snapshot); resume the others.
    Each pause and resumption is an event naming the status and the business time used."""
    status = change.state.status
    for metric, clock in change.state.clocks.items():
        paused_statuses = change.state.sla.pauses.get(metric, [])
        should_pause = status in paused_statuses
        if should_pause and clock.is_live and clock.paused_since is None:
            changed, kind = sla.pause(clock, at), EventType.SLA_PAUSED
        elif not should_pause and clock.paused_since is not None:
            changed, kind = sla.resume(change.state.sla, clock, at), EventType.SLA_RESUMED
        else:
            continue
        set_clock(change, changed)
        data: dict[str, Any] = {
            "metric": metric.value,
            "cycle": changed.cycle,
            "status": status.value,
            "business_seconds_used": sla.elapsed_business_seconds(change.state.sla, changed, at),
        }
        if kind == EventType.SLA_RESUMED:
            data["due_at"] = changed.due_at.isoformat() if changed.due_at else None
        change.event(kind, at, SYSTEM, **data)


def advance(change: Change, now: datetime) -> list[SlaTransition]:
    """Every at-risk point and breach the clocks reached by `now`, on the timeline."""
    transitions: list[SlaTransition] = []
    for clock in list(change.state.clocks.values()):
        advanced, reached = sla.advance(change.state.sla, clock, now)
        if reached:
            set_clock(change, advanced)
            transitions += reached
    record(change, transitions)
    return transitions


def record(change: Change, transitions: list[SlaTransition]) -> None:
    """One event per transition, in time order."""
    for t in sorted(transitions, key=lambda t: t.at):
        data: dict[str, Any] = {"metric": t.metric.value, "cycle": t.cycle}
        if t.percent is not None:
            data["percent"] = t.percent
        if t.due_at is not None:
            data["due_at"] = t.due_at.isoformat()
        change.event(_TRANSITION_EVENTS[t.kind], t.at, SYSTEM, **data)


def next_deadline(state: TicketState) -> datetime | None:
    """The nearest at-risk point or breach of any running clock."""
    return sla.next_deadline(state.sla, list(state.clocks.values()))


def deadline_summary(state: TicketState, due: datetime) -> str | None:
    """What a clock does at `due` ("first response at risk (80 %)"), if any clock does."""
    for point in sla.upcoming_points(state.sla, list(state.clocks.values())):
        if point.at == due:
            name = point.metric.value.replace("_", " ")
            return f"{name} due" if point.percent is None else f"{name} at risk ({point.percent} %)"
    return None
