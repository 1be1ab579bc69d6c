"""What an operator sees of a running ticket in the Temporal UI: its search attributes and
its current details (Markdown), and `OperatorView`, which keeps both up to date.

No personal data: ids, enums, times. Deterministic (takes `now` from the workflow).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow

from domain.sla.clocks import clock_view
from domain.ticket.state import TicketState
from workflows import search_attributes as sa


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
        f"**{state.ticket_id}** · {state.priority} · {state.status.value}"
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


class OperatorView:
    """Upserts the search attributes that changed and refreshes the current details; the
    clocks table is recomputed only when the ticket changed (it walks the calendars)."""

    def __init__(self, published: dict[str, Any]) -> None:
        self._published = published
        """What the search attributes hold now (set at start by the API, then upserted)."""
        self._table: tuple[int, str] = (-1, "")
        self._details = ""

    def publish(self, state: TicketState, *, store_error: str | None, pending: str | None) -> None:
        failed = [kind for kind, bad in (("email", state.notifications_failed),
                                          ("store", store_error)) if bad]  # fmt: skip
        updates = sa.updates_for(state, self._published, failed_effects=failed)
        if updates:
            workflow.upsert_search_attributes(updates)
        self.refresh(state, pending)

    def refresh(self, state: TicketState, pending: str | None) -> None:
        """The details: the clocks table and what is still pending."""
        if self._table[0] != state.last_seq:
            self._table = (state.last_seq, clocks_table(state, workflow.now()))
        details = with_pending(self._table[1], pending)
        if details != self._details:
            self._details = details
            workflow.set_current_details(details)
