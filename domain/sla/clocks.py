"""SLA clocks: pure arithmetic over a ticket's policy snapshot and business calendar.

Nothing here reads a clock: every function takes the instant it reasons about.
A clock's `due_at` is always `started_at + target` in business time of the
snapshot's calendar, minus the pauses of its cycle; it is recomputed whenever
a pause ends, and is `None` while paused (the deadline is unknown until the
clock resumes).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict

from domain.enums import ClockState, Metric
from domain.sla.business_days import business_days_seconds
from domain.sla.calendar import (
    OPEN_ENDED,
    Interval,
    add_business_seconds,
    business_seconds_between,
)
from domain.sla.durations import BusinessDays
from domain.sla.terms import SlaSnapshot


class SlaClock(BaseModel):
    """One metric's clock for one cycle."""

    metric: Metric
    cycle: int = 1
    state: ClockState = ClockState.RUNNING
    target_seconds: int
    started_at: datetime
    due_at: datetime | None
    pauses: list[Interval] = []
    paused_since: datetime | None = None
    at_risk_reached: list[int] = []
    met_at: datetime | None = None
    breached_at: datetime | None = None

    @property
    def is_live(self) -> bool:
        """Still owed: running or paused, whether or not already breached."""
        return self.met_at is None and self.state != ClockState.CANCELLED


class SlaTransition(BaseModel):
    """Something a clock did at an instant: at risk, breached or met."""

    model_config = ConfigDict(frozen=True)

    metric: Metric
    cycle: int
    kind: Literal["at_risk", "breached", "met"]
    at: datetime
    percent: int | None = None
    due_at: datetime | None = None


class ClockView(BaseModel):
    """A clock as the API shows it (DESIGN.md's shape)."""

    state: ClockState
    due_at: datetime | None
    target_seconds: int
    business_seconds_left: int | None
    breached_at: datetime | None
    met_at: datetime | None
    cycle: int


def target_seconds(snapshot: SlaSnapshot, target: int | BusinessDays, started_at: datetime) -> int:
    """A target in business seconds for a clock started at `started_at`: business days are
    counted from there on the snapshot's calendar (`domain.sla.business_days`)."""
    if isinstance(target, BusinessDays):
        return business_days_seconds(snapshot.calendar, started_at, target.days)
    return target


def start_clock(
    snapshot: SlaSnapshot, metric: Metric, at: datetime, cycle: int = 1
) -> SlaClock | None:
    """A running clock for `metric` from `at`, or None when the policy sets no target."""
    given = snapshot.targets.for_metric(metric)
    if given is None:
        return None
    target = target_seconds(snapshot, given, at)
    due = add_business_seconds(snapshot.calendar, at, target)
    return SlaClock(metric=metric, cycle=cycle, target_seconds=target, started_at=at, due_at=due)


def pause(clock: SlaClock, at: datetime) -> SlaClock:
    """Stop counting from `at`; the due time is unknown until `resume`."""
    if not clock.is_live or clock.paused_since is not None:
        return clock
    return clock.model_copy(update={"paused_since": at, "due_at": None})


def resume(snapshot: SlaSnapshot, clock: SlaClock, at: datetime) -> SlaClock:
    """Count again from `at`: the paused interval is kept and the due time moves out by it."""
    if clock.paused_since is None:
        return clock
    pauses = [*clock.pauses, Interval(start=clock.paused_since, end=at)]
    due = add_business_seconds(snapshot.calendar, clock.started_at, clock.target_seconds, pauses)
    return clock.model_copy(update={"paused_since": None, "pauses": pauses, "due_at": due})


def retarget(snapshot: SlaSnapshot, clock: SlaClock, target: int | BusinessDays) -> SlaClock:
    """The same cycle measured against a new target (a priority change re-applying the policy);
    business days count from the cycle's start, as if the clock had started with them."""
    if not clock.is_live:
        return clock
    seconds = target_seconds(snapshot, target, clock.started_at)
    update: dict[str, object] = {"target_seconds": seconds}
    if clock.paused_since is None:
        update["due_at"] = add_business_seconds(
            snapshot.calendar, clock.started_at, seconds, clock.pauses
        )
    return clock.model_copy(update=update)


def cancel(clock: SlaClock) -> SlaClock:
    """Nothing is owed any more (e.g. next update once the ticket is resolved)."""
    if not clock.is_live:
        return clock
    return clock.model_copy(update={"state": ClockState.CANCELLED, "paused_since": None})


def elapsed_business_seconds(snapshot: SlaSnapshot, clock: SlaClock, at: datetime) -> int:
    """Business seconds counted by the clock from its start up to `at` (or its met time)."""
    end = min(at, clock.met_at) if clock.met_at else at
    pauses = list(clock.pauses)
    if clock.paused_since is not None:
        pauses.append(Interval(start=clock.paused_since, end=OPEN_ENDED))
    return business_seconds_between(snapshot.calendar, clock.started_at, end, pauses)


def _point(snapshot: SlaSnapshot, clock: SlaClock, fraction_seconds: int) -> datetime:
    return add_business_seconds(snapshot.calendar, clock.started_at, fraction_seconds, clock.pauses)


def _at_risk_seconds(clock: SlaClock, percent: int) -> int:
    return clock.target_seconds * percent // 100


def meet(clock: SlaClock, at: datetime) -> tuple[SlaClock, list[SlaTransition]]:
    """Satisfy the clock. A breached clock stays breached but records when it was met."""
    if not clock.is_live:
        return clock, []
    pauses = clock.pauses
    if clock.paused_since is not None:
        pauses = [*pauses, Interval(start=clock.paused_since, end=at)]
    state = ClockState.BREACHED if clock.breached_at is not None else ClockState.MET
    met = clock.model_copy(
        update={"state": state, "met_at": at, "paused_since": None, "pauses": pauses}
    )
    return met, [SlaTransition(metric=clock.metric, cycle=clock.cycle, kind="met", at=at)]


def advance(
    snapshot: SlaSnapshot, clock: SlaClock, now: datetime
) -> tuple[SlaClock, list[SlaTransition]]:
    """Emit every at-risk point and the breach that `now` has reached, each once per cycle."""
    if not clock.is_live or clock.paused_since is not None or clock.due_at is None:
        return clock, []
    transitions: list[SlaTransition] = []
    reached = list(clock.at_risk_reached)
    for percent in snapshot.at_risk_percent:
        if percent in reached:
            continue
        point = _point(snapshot, clock, _at_risk_seconds(clock, percent))
        if point <= now:
            reached.append(percent)
            transitions.append(
                SlaTransition(
                    metric=clock.metric,
                    cycle=clock.cycle,
                    kind="at_risk",
                    at=point,
                    percent=percent,
                    due_at=clock.due_at,
                )
            )
    update: dict[str, object] = {"at_risk_reached": reached}
    if clock.breached_at is None and clock.due_at <= now:
        update |= {"breached_at": clock.due_at, "state": ClockState.BREACHED}
        transitions.append(
            SlaTransition(
                metric=clock.metric,
                cycle=clock.cycle,
                kind="breached",
                at=clock.due_at,
                due_at=clock.due_at,
            )
        )
    return clock.model_copy(update=update), transitions


class ClockPoint(NamedTuple):
    """An instant at which a clock will do something: an at-risk point, or its breach."""

    at: datetime
    metric: Metric
    percent: int | None
    """The at-risk percentage; None for the breach."""


def upcoming_points(snapshot: SlaSnapshot, clocks: list[SlaClock]) -> list[ClockPoint]:
    """Each running clock's next at-risk point and its breach, if still ahead of it."""
    upcoming: list[ClockPoint] = []
    for clock in clocks:
        if not clock.is_live or clock.paused_since is not None or clock.due_at is None:
            continue
        for percent in snapshot.at_risk_percent:
            if percent not in clock.at_risk_reached:
                point = _point(snapshot, clock, _at_risk_seconds(clock, percent))
                upcoming.append(ClockPoint(point, clock.metric, percent))
                break
        if clock.breached_at is None:
            upcoming.append(ClockPoint(clock.due_at, clock.metric, None))
    return upcoming


def next_deadline(snapshot: SlaSnapshot, clocks: list[SlaClock]) -> datetime | None:
    """The nearest instant at which some clock will do something (at risk or breach)."""
    return min((point.at for point in upcoming_points(snapshot, clocks)), default=None)


def next_due_at(clocks: list[SlaClock]) -> datetime | None:
    """The nearest unbreached due time: what operators sort and filter on."""
    return min(
        (c.due_at for c in clocks if c.is_live and c.breached_at is None and c.due_at),
        default=None,
    )


def clock_view(snapshot: SlaSnapshot, clock: SlaClock, now: datetime) -> ClockView:
    """The clock at `now`, with the business seconds left (negative once overdue)."""
    left: int | None = None
    if clock.is_live:
        left = clock.target_seconds - elapsed_business_seconds(snapshot, clock, now)
    state = clock.state
    if clock.is_live and clock.paused_since is not None and clock.breached_at is None:
        state = ClockState.PAUSED
    return ClockView(
        state=state,
        due_at=clock.due_at,
        target_seconds=clock.target_seconds,
        business_seconds_left=left,
        breached_at=clock.breached_at,
        met_at=clock.met_at,
        cycle=clock.cycle,
    )
