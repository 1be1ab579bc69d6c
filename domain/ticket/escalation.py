"""The escalation ladder: levels 0-3, what raises them, and who hears about it.

A ticket snapshots the ladder at intake (`domain.ticket.ladder.EscalationSnapshot`), with
every recipient resolved to an address, so the workflow never reads configuration.
Triggers: a clock's at-risk point (alert the team lead, no level change), a breach (one
level up), time unresolved per priority (one level per multiple of the priority's
threshold), the reopen threshold, a low CSAT score, a customer asking for escalation, and
an agent's manual `escalate`.
"""

from __future__ import annotations

from datetime import datetime

from domain.enums import EventType, Metric, Status
from domain.sla.calendar import add_business_seconds
from domain.sla.clocks import SlaTransition
from domain.sla.durations import format_duration
from domain.ticket import credits
from domain.ticket.change import SYSTEM, Change
from domain.ticket.ladder import MAX_LEVEL, target_level
from domain.ticket.state import TicketState

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
) -> bool:
    """Move to `level` (default one up): event, internal alert, customer notice."""
    state = change.state
    previous = state.escalation_level
    target = target_level(previous, level)
    if target == previous:
        return False
    change.update(escalation_level=target)
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
        return True
    state = change.state
    ladder = state.escalation.level(target)
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
    return True


def on_sla_transitions(change: Change, transitions: list[SlaTransition]) -> None:
    """At risk: tell the team lead. Breached: one level up, and apologise to the customer."""
    for t in transitions:
        metric = t.metric.value.replace("_", " ")
        if t.kind == "at_risk":
            state = change.state
            lead = state.escalation.team_leads.get(state.team or "")
            if lead is not None:
                change.notify_staff(
                    state.last_seq,
                    "escalation_alert",
                    lead,
                    purpose=f"at_risk.{t.metric.value}.{t.cycle}.{t.percent}",
                    level=state.escalation_level,
                    level_name=f"{metric} at {t.percent}%",
                    reason=f"{metric} is at risk",
                    plan=state.requester.plan.value,
                    agent=state.assignee,
                    impact=None,
                    actions_taken=_actions_taken(state),
                    sla_summary=_sla_summary(state),
                    ticket_url=None,
                )
        elif t.kind == "breached":
            raise_level(
                change, t.at, reason=f"{metric} breached", trigger=f"breach:{t.metric.value}"
            )
            if t.metric != Metric.CSAT_FOLLOWUP:
                event = change.effects.events[-1]
                credit = credits.credit_on_breach(change, t.metric.value, t.at)
                change.notify_customer(
                    event, "sla_breach_apology", metric=t.metric.value, credit=credit
                )


# -- time unresolved -----------------------------------------------------------------------


def unresolved_deadline(state: TicketState) -> datetime | None:
    """When the next "unresolved for too long" step is due (business time, pauses excluded)."""
    threshold = state.escalation.unresolved_after.get(state.priority)
    clock = state.clocks.get(Metric.RESOLUTION)
    if (
        threshold is None
        or clock is None
        or not clock.is_live
        or clock.paused_since is not None
        or state.status in (Status.RESOLVED, Status.CLOSED)
        or state.unresolved_steps >= MAX_LEVEL
    ):
        return None
    seconds = threshold * (state.unresolved_steps + 1)
    return add_business_seconds(state.sla.calendar, clock.started_at, seconds, clock.pauses)


def unresolved_summary(state: TicketState) -> str:
    """What the next unresolved step does, for the timer: "escalate to L2: unresolved 4h"."""
    threshold = state.escalation.unresolved_after.get(state.priority, 0)
    unresolved = format_duration(threshold * (state.unresolved_steps + 1))
    level = target_level(state.escalation_level, None)
    if level == state.escalation_level:
        return f"unresolved {unresolved} (at L{level} already)"
    return f"escalate to L{level}: unresolved {unresolved}"


def escalate_unresolved(change: Change, now: datetime) -> None:
    """One level up for each multiple of the priority's threshold that `now` has reached."""
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
