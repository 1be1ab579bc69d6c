"""Plain-text rendering of tickets for `ticketflow tickets list|show`: compact, UTC, no colour."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from domain.sla.durations import format_duration

if TYPE_CHECKING:
    from domain.ticket.views import TicketView
    from store.models import Ticket, TicketEventRow
    from ticketflow.commands.tickets import WorkflowRun

NONE = "—"
_SUBJECT_CHARS = 48
_VALUE_CHARS = 60
_DETAILS_CHARS = 100
# Event data that is message text, not metadata: never dumped into the one-line timeline.
_TEXT_FIELDS = {"body", "description", "resolution", "comment", "reason"}


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns two spaces apart; the last column is not padded."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = []
    for cells in (headers, *rows):
        padded = [str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True)]
        lines.append("  ".join(padded).rstrip())
    return lines


def utc(at: datetime | None) -> datetime | None:
    """A store datetime in UTC: SQLite hands them back without an offset (the store writes UTC)."""
    if at is None:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def when(at: datetime | None) -> str:
    at = utc(at)
    return at.strftime("%Y-%m-%d %H:%M:%S") if at else NONE


def iso(at: datetime | None) -> str | None:
    at = utc(at)
    return at.isoformat() if at else None


def left(seconds: int | None) -> str:
    """Business seconds left, with the human form: `7140 s (1h59m)`, `-60 s (1m overdue)`."""
    if seconds is None:
        return NONE
    if seconds < 0:
        return f"{seconds} s ({format_duration(-seconds)} overdue)"
    return f"{seconds} s ({format_duration(seconds)})"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def ticket_rows(tickets: Sequence[Ticket]) -> list[str]:
    """The `tickets list` table."""
    headers = ["ID", "PRI", "STATUS", "TEAM", "ASSIGNEE", "ESC", "BREACHED", "NEXT DUE (UTC)"]
    headers += ["CREATED (UTC)", "SUBJECT"]
    rows = [
        (
            t.id,
            t.priority,
            t.status,
            t.team or NONE,
            t.assignee or NONE,
            f"L{t.escalation_level}",
            "yes" if t.sla_breached else "no",
            when(t.next_sla_due_at),
            when(t.created_at),
            _clip(t.subject, _SUBJECT_CHARS),
        )
        for t in tickets
    ]
    return table(headers, rows)


def ticket_json(ticket: Ticket) -> dict[str, Any]:
    """A `tickets list --json` entry: the row's columns, not the whole projected state."""
    fields = ["id", "subject", "status", "priority", "channel", "category", "team", "assignee"]
    fields += ["plan", "escalation_level", "sla_breached", "sla_policy_id"]
    entry: dict[str, Any] = {name: getattr(ticket, name) for name in fields}
    for name in ("next_sla_due_at", "created_at", "updated_at"):
        entry[name] = iso(getattr(ticket, name))
    return entry


def ticket_details(view: TicketView, now: datetime, run: WorkflowRun) -> list[str]:
    """`tickets show`: the ticket as its workflow holds it, with the SLA clocks at `now`."""
    policy = view.sla_policy
    if run.closed_at is None:
        workflow = f"{run.status} · run {run.run_id}"
        clocks = f"{when(now)} UTC (live: computed now from the workflow's state)"
    else:
        workflow = f"{run.status.upper()} at {when(run.closed_at)} UTC · run {run.run_id}"
        clocks = f"{when(now)} UTC, when the workflow ended: no timer or action runs any more"
    lines = [
        f"{view.id}  [{view.priority}] {view.subject}",
        f"status     {view.status.value} · escalation L{view.escalation_level}"
        f" · SLA breached: {'yes' if view.sla_breached else 'no'}",
        f"team       {view.team or NONE} · assignee {view.assignee or NONE}",
        f"intake     plan {view.plan} · channel {view.channel} · category {view.category}",
        f"created    {when(view.created_at)} · updated {when(view.updated_at)}"
        f" · first response {when(view.first_responded_at)} (UTC)",
        f"SLA        policy {policy.policy_id} v{policy.policy_version}"
        f" on calendar {policy.calendar}: {policy.reason}",
        f"workflow   {workflow}",
        f"clocks at  {clocks}",
        "",
    ]
    headers = ["CLOCK", "CYCLE", "STATE", "DUE (UTC)", "BUSINESS TIME LEFT", "TARGET"]
    headers += ["MET", "BREACHED"]
    rows = [
        (
            metric.value,
            str(clock.cycle),
            clock.state.value,
            when(clock.due_at),
            left(clock.business_seconds_left),
            format_duration(clock.target_seconds),
            when(clock.met_at),
            when(clock.breached_at),
        )
        for metric, clock in view.sla.items()
    ]
    lines += table(headers, rows) if rows else ["no SLA clocks"]
    return lines


def event_summary(data: dict[str, Any]) -> str:
    """`key=value` pairs of an event's metadata, message texts left out."""
    parts = []
    for key, value in data.items():
        if key in _TEXT_FIELDS or value is None:
            continue
        shown = (
            ",".join(f"{k}={v}" for k, v in value.items() if v is not None)
            if isinstance(value, dict)
            else str(value)
        )
        parts.append(f"{key}={_clip(shown, _VALUE_CHARS)}")
    return _clip(" ".join(parts), _DETAILS_CHARS)


def event_rows(events: Sequence[TicketEventRow]) -> list[str]:
    rows = [(f"#{e.seq}", when(e.at), e.type, e.actor, event_summary(e.data or {})) for e in events]
    return table(("SEQ", "AT (UTC)", "EVENT", "ACTOR", "DETAILS"), rows)


def event_json(event: TicketEventRow) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "type": event.type,
        "at": iso(event.at),
        "actor": event.actor,
        "data": event.data,
    }
