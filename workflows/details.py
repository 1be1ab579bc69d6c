"""The Markdown an operator sees as a ticket workflow's current details in the Temporal UI.

No personal data: ids, enums, times. Deterministic (takes `now` from the workflow).
"""

from __future__ import annotations

from datetime import datetime

from domain.sla import clock_view
from domain.ticket import TicketState


def _fmt(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else "—"


def current_details(state: TicketState, now: datetime, *, effects: str | None = None) -> str:
    """The details; `effects` is what is still pending or failing, if anything."""
    return with_pending(clocks_table(state, now), effects)


def with_pending(table: str, effects: str | None) -> str:
    """`table` with a line for the effects still pending, if any."""
    return f"{table}\n\nPending: {effects}" if effects else table


def clocks_table(state: TicketState, now: datetime) -> str:
    """The ticket, its clocks as of `now`, any failed email and its last actions."""
    lines = [
        f"**{state.ticket_id}** · {state.priority.value} · {state.status.value}"
        f" · team {state.team or '—'} · assignee {state.assignee or '—'}"
        f" · escalation L{state.escalation_level}",
        "",
        f"SLA policy `{state.sla.policy_id}` v{state.sla.policy_version}"
        f" on calendar `{state.sla.calendar.id}`",
        "",
        "| clock | state | due | business s left | met | breached |",
        "|---|---|---|---|---|---|",
    ]
    for metric, clock in state.clocks.items():
        view = clock_view(state.sla, clock, now)
        left = "—" if view.business_seconds_left is None else str(view.business_seconds_left)
        lines.append(
            f"| {metric.value} (cycle {clock.cycle}) | {view.state.value} | {_fmt(view.due_at)}"
            f" | {left} | {_fmt(view.met_at)} | {_fmt(view.breached_at)} |"
        )
    if state.notifications_failed:
        lines += ["", f"**{state.notifications_failed} email(s) failed**: see the timeline"]
    lines += ["", "Last actions:", ""]
    lines += [f"- {summary}" for summary in reversed(state.recent_events)]
    return "\n".join(lines)
