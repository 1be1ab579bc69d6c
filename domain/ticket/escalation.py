"""The escalation ladder: its levels, what climbs them, and who hears about it.

A ticket snapshots the ladder at intake (`domain.ticket.ladder.EscalationSnapshot`), with
every recipient resolved to an address, so the workflow never reads configuration.
Triggers: a clock's at-risk point and its breach (per the SLA snapshot's actions: alert
the team lead, or one level up; a breach also apologises to the customer), time
unresolved (the ticket's ladder steps, or without a ladder one level per multiple of the
priority's `unresolved_after`), content triggers (keywords in the ticket or a reply), the
reopen threshold, a low CSAT score, a customer asking for escalation, and an agent's
manual `escalate`. Reaching a level that names a team moves the ticket to that team's
queue, dispatched like any queued ticket. Time unresolved is `domain.ticket.unresolved`.
"""

from __future__ import annotations

from datetime import datetime

from domain.enums import EventType, Metric
from domain.sla.clocks import SlaTransition
from domain.ticket import credits
from domain.ticket.change import SYSTEM, Change
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
            plan=state.requester.plan,
            agent=state.assignee,
            impact=f"{state.priority} {state.category} ticket",
            actions_taken=_actions_taken(state),
            sla_summary=_sla_summary(state),
            ticket_url=None,
        )
    customer_name = ladder.name_in(state.requester.language) if ladder else name
    change.notify_customer(event, "escalation_notice", level=target, level_name=customer_name)
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
                credit = credits.credit_on_breach(change, t.metric.value, t.at)
                change.notify_customer(
                    event, "sla_breach_apology", metric=t.metric.value, credit=credit
                )


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
        plan=state.requester.plan,
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
