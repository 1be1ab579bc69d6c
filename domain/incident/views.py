"""An incident as the store and operators see it: its row, and its current details.

No personal data in the details: ids, statuses, counts and times only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.incident.state import IncidentEvent, IncidentRowData, IncidentState


def incident_row(state: IncidentState) -> IncidentRowData:
    return IncidentRowData(
        id=state.incident_id,
        title=state.title,
        severity=state.severity,
        component=state.component,
        status=state.status.value,
        commander=state.commander,
        escalation_level=state.escalation_level,
        linked_count=len(state.linked),
        updates_sent=sum(1 for u in state.updates if u.state == "sent"),
        created_at=state.created_at,
        updated_at=state.updated_at,
        acknowledged_at=state.acknowledged_at,
        resolved_at=state.resolved_at,
        resolution=state.resolution,
        report_submitted_at=state.report_submitted_at,
        last_seq=state.last_seq,
    )


def incident_event_row(event: IncidentEvent) -> dict[str, Any]:
    return {
        "incident_id": event.incident_id,
        "seq": event.seq,
        "type": event.type.value,
        "at": event.at,
        "actor": event.actor,
        "data": event.data,
    }


def _fmt(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else "—"


def static_summary(severity: str, component: str) -> str:
    return f"[{severity}] major incident: {component}"


def current_details(state: IncidentState, *, pending: str | None = None) -> str:
    """Markdown for the Temporal UI: status, clocks, linked tickets by status, last events."""
    counts = state.counts_by_status()
    linked = ", ".join(f"{status} {n}" for status, n in counts.items()) or "none"
    lines = [
        f"**{state.incident_id}** · {state.severity} · {state.status.value}"
        f" · commander {state.commander or '—'} · escalation L{state.escalation_level}"
        + (f" ({state.escalation_name})" if state.escalation_name else ""),
        "",
        f"Linked tickets: {len(state.linked)} ({linked})",
        f"Updates: {len(state.updates)} · deliveries made: {state.delivered}"
        f" · broadcasts in progress: {len(state.broadcasts)}",
        "",
        "| clock | cycle | state | due | met | breached |",
        "|---|---|---|---|---|---|",
    ]
    for clock in state.clocks.values():
        lines.append(
            f"| {clock.name.value} | {clock.cycle} | {clock.state} | {_fmt(clock.due_at)}"
            f" | {_fmt(clock.met_at)} | {_fmt(clock.breached_at)} |"
        )
    lines += ["", "Last actions:", ""]
    lines += [f"- {line}" for line in reversed(state.recent_events)]
    if pending:
        lines += ["", f"Pending: {pending}"]
    return "\n".join(lines)
