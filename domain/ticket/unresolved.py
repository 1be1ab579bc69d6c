"""Time unresolved: the ticket's ladder steps, or without a ladder one level up per
multiple of the priority's `unresolved_after`. Unresolved time is the resolution clock's
business time (pauses excluded; nothing counts while resolved or closed)."""

from __future__ import annotations

from datetime import datetime

from domain.enums import Metric, Status
from domain.sla.calendar import add_business_seconds
from domain.sla.clocks import SlaClock
from domain.sla.durations import format_duration
from domain.ticket import escalation
from domain.ticket.change import Change
from domain.ticket.ladder import LadderStep
from domain.ticket.state import TicketState


def follow_ladder(change: Change) -> None:
    """Choose the ticket's ladder by its priority, plan, category and channel (at creation,
    and again when its priority changes: a new ladder starts at its first step, whose
    `since: created` steps may then be due at once)."""
    state = change.state
    index = state.escalation.ladder_for(
        priority=state.priority,
        plan=state.requester.plan,
        category=state.category,
        channel=state.channel,
    )
    if index != state.ladder_index:
        change.update(ladder_index=index, ladder_steps=0)


def _unresolved_clock(state: TicketState) -> SlaClock | None:
    """The resolution clock, while it counts: unresolved time is its business time."""
    clock = state.clocks.get(Metric.RESOLUTION)
    if (
        clock is None
        or not clock.is_live
        or clock.paused_since is not None
        or state.status in (Status.RESOLVED, Status.CLOSED)
    ):
        return None
    return clock


def next_step(state: TicketState) -> tuple[int, LadderStep, datetime] | None:
    """The ticket's ladder's next step whose `when` holds, with its index and due instant."""
    clock = _unresolved_clock(state)
    if state.ladder_index is None or clock is None:
        return None
    ladder = state.escalation.ladders[state.ladder_index]
    for index in range(state.ladder_steps, len(ladder.steps)):
        step = ladder.steps[index]
        if step.when is not None and not step.when.matches(
            priority=state.priority,
            plan=state.requester.plan,
            category=state.category,
            channel=state.channel,
        ):
            continue
        since = clock.started_at
        if step.since == "previous" and state.level_changed_at is not None:
            since = max(since, state.level_changed_at)
        due = add_business_seconds(state.sla.calendar, since, step.after_seconds, clock.pauses)
        return index, step, due
    return None


def unresolved_deadline(state: TicketState) -> datetime | None:
    """When the next "unresolved for too long" step is due (business time, pauses excluded):
    the ladder's next step, or without a ladder the next multiple of `unresolved_after`."""
    if state.ladder_index is not None:
        step = next_step(state)
        return step[2] if step else None
    threshold = state.escalation.unresolved_after.get(state.priority)
    clock = _unresolved_clock(state)
    if threshold is None or clock is None or state.unresolved_steps >= state.escalation.top_level:
        return None
    seconds = threshold * (state.unresolved_steps + 1)
    return add_business_seconds(state.sla.calendar, clock.started_at, seconds, clock.pauses)


def unresolved_summary(state: TicketState) -> str:
    """What the next unresolved step does, for the timer: "escalate to L2: unresolved 4h"."""
    if (step := next_step(state)) is not None:
        since = "since created" if step[1].since == "created" else "at this level"
        unresolved, level = f"{format_duration(step[1].after_seconds)} {since}", step[1].to
    else:
        threshold = state.escalation.unresolved_after.get(state.priority, 0)
        unresolved = format_duration(threshold * (state.unresolved_steps + 1))
        level = state.escalation.target_level(state.escalation_level, None)
    if level <= state.escalation_level:
        return f"unresolved {unresolved} (at L{state.escalation_level} already)"
    return f"escalate to L{level}: unresolved {unresolved}"


def escalate_unresolved(change: Change, now: datetime) -> None:
    """Every ladder step due by `now`, each at its own instant (a step to a level the
    ticket is at or above is taken without effect); without a ladder, one level up for
    each multiple of the priority's threshold that `now` has reached."""
    if change.state.ladder_index is not None:
        while (step := next_step(change.state)) is not None and step[2] <= now:
            index, taken, due = step
            change.update(ladder_steps=index + 1)
            if taken.to > change.state.escalation_level:
                since = "since created" if taken.since == "created" else "at the previous level"
                escalation.raise_level(
                    change,
                    due,
                    reason=f"unresolved {format_duration(taken.after_seconds)} {since}",
                    trigger="unresolved",
                    level=taken.to,
                )
        return
    while (deadline := unresolved_deadline(change.state)) is not None and deadline <= now:
        steps = change.state.unresolved_steps + 1
        threshold = change.state.escalation.unresolved_after[change.state.priority]
        change.update(unresolved_steps=steps)
        escalation.raise_level(
            change,
            deadline,
            reason=f"unresolved after {threshold * steps / 3600:g} business hours",
            trigger="unresolved",
        )
