"""An incident's fan-outs as state: queued with their recipients, advanced batch by batch.

Pure: the workflow's broadcast drain sends a batch, then hands back what each ticket did."""

from __future__ import annotations

from typing import Literal

from domain.incident.actions import TicketOutcome
from domain.incident.state import Broadcast, IncidentState


def update_id(incident_id: str, number: int) -> str:
    """The key every linked ticket applies an update by, once: `INC-000001/u3`."""
    return f"{incident_id}/u{number}"


def resolution_id(incident_id: str) -> str:
    return f"{incident_id}/resolution"


def queued(
    state: IncidentState, key: str, kind: Literal["update", "resolve"], body: str
) -> list[Broadcast]:
    """The broadcasts with one more, to every ticket linked now (none if nothing is)."""
    recipients = sorted(state.linked)
    if not recipients:
        return state.broadcasts
    broadcast = Broadcast(
        update_id=key,
        kind=kind,
        body=body,
        incident_status=state.status,
        ticket_ids=recipients,
    )
    return [*state.broadcasts, broadcast]


def after_batch(
    state: IncidentState, outcomes: list[TicketOutcome]
) -> tuple[dict[str, object], Broadcast | None]:
    """The state's changes after a batch of the first broadcast, and that broadcast if it
    is now done. The ticket statuses seen are kept; a ticket that is gone leaves."""
    broadcast = state.broadcasts[0]
    linked = dict(state.linked)
    for outcome in outcomes:
        if outcome.ticket_id not in linked:
            continue
        if outcome.outcome == "missing":
            del linked[outcome.ticket_id]
        elif outcome.status is not None:
            linked[outcome.ticket_id] = outcome.status
    done = broadcast.done + len(outcomes)
    rest = state.broadcasts[1:]
    if done >= len(broadcast.ticket_ids):
        changes = {"linked": linked, "broadcasts": rest, "delivered": state.delivered + done}
        return changes, broadcast
    advanced = broadcast.model_copy(update={"done": done})
    return {"linked": linked, "broadcasts": [advanced, *rest]}, None
