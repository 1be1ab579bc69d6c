"""The escalation ladder: its levels, what climbs them, and who hears about it.

A ticket snapshots the ladder at intake (`domain.ticket.ladder.EscalationSnapshot`), with
every recipient resolved to an address, so the workflow never reads configuration.
Triggers: a clock's at-risk point and its breach (per the SLA snapshot's actions: alert
the team lead, or one level up; a breach also apologises to the customer), time
unresolved (the ticket's ladder steps, or without a ladder one level per multiple of the
priority's `unresolved_after`), content triggers (keywords in the ticket or a reply), the
reopen threshold, a low CSAT score, a customer asking for escalation, and an agent's
manual `escalate`. Reaching a level that names a team moves the ticket to that team's
queue, dispatched like any queued ticket.
"""

from __future__ import annotations

from datetime import datetime

from domain.enums import EventType, Metric, Status
from domain.sla.calendar import add_business_seconds
from domain.sla.clocks import SlaClock, SlaTransition
from domain.sla.durations import format_duration
from domain.ticket.change import SYSTEM, Change
from domain.ticket.ladder import LadderStep
from domain.ticket.state import TicketEvent, TicketState

# What a customer writes when they want a manager (en, ms, mk).
ESCALATION_REQUEST_WORDS = (
    "escalate",
    "escalation",
    "manager",
    "supervisor",
    "pengurus",
    "eskalasi",
    "менаџер",
    "ескалација",
)


def asks_for_escalation(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in ESCALATION_REQUEST_WORDS)


def raise_level(
    change: Change,
    at: datetime,
    *,
    reason: str,
    trigger: str,
    actor: str = SYSTEM,
    level: int | None = None,
) -> TicketEvent | None:
    """Move to `level` (default one up): event, internal alert, customer notice, and the
    level's team if it names one. Returns the `escalated` event, None if nothing moved."""
    state = change.state
    previous = state.escalation_level
    target = state.escalation.target_level(previous, level)
    if target == previous:
        return None
    change.update(escalation_level=target, level_changed_at=at)
    event = change.event(
        EventType.ESCALATED,
        at,
        actor,
        **{"from": previous, "to": target},
        reason=reason,
        trigger=trigger,
        direction="up" if target > previous else "down",
    )
    if target < previous:
        return event
    ladder = change.state.escalation.level(target)
    if ladder is not None and ladder.team is not None and ladder.team != change.state.team:
        move_to_team(change, ladder.team, at, actor, reason=f"escalated to {ladder.name}")
    state = change.state
    name = ladder.name if ladder else f"Level {target}"
    for recipient in ladder.recipients if ladder else []:
        change.notify_staff(
            event.seq,
            "escalation_alert",
            recipient,
            level=target,
            level_name=name,
            reason=reason,
            plan=state.requester.plan.value,
            agent=state.assignee,
            impact=f"{state.priority.value} {state.category} ticket",
            actions_taken=_actions_taken(state),
            sla_summary=_sla_summary(state),
            ticket_url=None,
        )
    change.notify_customer(event, "escalation_notice", level=target, level_name=name)
    return event


def move_to_team(change: Change, team: str, at: datetime, actor: str, *, reason: str) -> None:
    """Into `team`'s queue, unassigned: the assignee's slot frees up (their team's queue may
    move) and `team`'s queue is dispatched (`Effects.freed_teams`), which assigns the oldest
    queued ticket there to an agent with capacity, as for any queued ticket."""
    state = change.state
    if state.assignee is not None and state.team is not None:
        change.effects.freed_teams.append(state.team)
    previous = {"agent_id": state.assignee, "team": state.team}
    change.update(team=team, assignee=None)
    change.event(
        EventType.ASSIGNED,
        at,
        actor,
        **{"from": previous, "to": {"agent_id": None, "team": team}},
        reason=reason,
    )
    change.effects.freed_teams.append(team)


def on_sla_transitions(change: Change, transitions: list[SlaTransition]) -> None:
    """Per the SLA snapshot's actions. At risk: tell the team lead (`notify`), or one level
    up (`escalate`; at the top, the lead is told). Breached: one level up (`escalate`) or
    tell the team lead (`notify`), and apologise to the customer."""
    for t in transitions:
        metric = t.metric.value.replace("_", " ")
        if t.kind == "at_risk":
            if change.state.sla.at_risk_action == "escalate" and raise_level(
                change,
                t.at,
                reason=f"{metric} at {t.percent}% of its target",
                trigger=f"at_risk:{t.metric.value}",
            ):
                continue
            _alert_lead(change, t, f"at_risk.{t.metric.value}.{t.cycle}.{t.percent}")
        elif t.kind == "breached":
            if change.state.sla.breach_action == "notify":
                _alert_lead(change, t, f"breached.{t.metric.value}.{t.cycle}")
                event = _breach_event(change, t)
            else:
                raised = raise_level(
                    change, t.at, reason=f"{metric} breached", trigger=f"breach:{t.metric.value}"
                )
                event = raised or change.effects.events[-1]
            if t.metric != Metric.CSAT_FOLLOWUP:
                change.notify_customer(event, "sla_breach_apology", metric=t.metric.value)


def _alert_lead(change: Change, t: SlaTransition, purpose: str) -> None:
    """The ticket's team lead hears that a clock is at risk (or breached)."""
    state = change.state
    lead = state.escalation.team_leads.get(state.team or "")
    if lead is None:
        return
    metric = t.metric.value.replace("_", " ")
    at_risk = t.kind == "at_risk"
    change.notify_staff(
        state.last_seq,
        "escalation_alert",
        lead,
        purpose=purpose,
        level=state.escalation_level,
        level_name=f"{metric} at {t.percent}%" if at_risk else f"{metric} breached",
        reason=f"{metric} is at risk" if at_risk else f"{metric} breached",
        plan=state.requester.plan.value,
        agent=state.assignee,
        impact=None,
        actions_taken=_actions_taken(state),
        sla_summary=_sla_summary(state),
        ticket_url=None,
    )


def _breach_event(change: Change, t: SlaTransition) -> TicketEvent:
    """The `sla_breached` event of transition `t` (recorded before the ladder answers)."""
    for event in reversed(change.effects.events):
        data = event.data
        if event.type == EventType.SLA_BREACHED and (data.get("metric"), data.get("cycle")) == (
            t.metric.value,
            t.cycle,
        ):
            return event
    return change.effects.events[-1]


# -- content -------------------------------------------------------------------------------


def on_content(change: Change, at: datetime, text: str, *, source: str) -> None:
    """The first content trigger whose keywords `text` contains escalates the ticket to its
    level, unless the ticket is there or higher already."""
    state = change.state
    for trigger in state.escalation.content_triggers:
        if trigger.to > state.escalation_level and trigger.matches(text):
            raise_level(
                change,
                at,
                reason=f"{trigger.name} keywords in the {source}",
                trigger=f"content:{trigger.name}",
                level=trigger.to,
            )
            return


# -- time unresolved -----------------------------------------------------------------------


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
                raise_level(
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
        raise_level(
            change,
            deadline,
            reason=f"unresolved after {threshold * steps / 3600:g} business hours",
            trigger="unresolved",
        )


def _sla_summary(state: TicketState) -> str:
    parts = []
    for metric, clock in state.clocks.items():
        due = clock.due_at.strftime("%Y-%m-%d %H:%M UTC") if clock.due_at else "paused"
        parts.append(f"{metric.value}: {clock.state.value} (due {due})")
    return "; ".join(parts) or "no clocks"


def _actions_taken(state: TicketState) -> list[str]:
    taken = []
    if state.assignee:
        taken.append(f"assigned to {state.assignee}")
    if state.first_responded_at:
        taken.append(f"first response at {state.first_responded_at:%Y-%m-%d %H:%M} UTC")
    if state.reopen_count:
        taken.append(f"reopened {state.reopen_count} time(s)")
    return taken
