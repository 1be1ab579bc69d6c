"""The emails an incident's escalation sends its level's people (`incident_escalation`),
each with a deterministic key (incident, event seq, template, recipient): sent once."""

from __future__ import annotations

from domain.incident.state import EscalationTarget, IncidentState
from domain.ticket.change import recipient_tag
from domain.ticket.notifications import Notification, message_id, notification_key

TEMPLATE = "incident_escalation"


def staff_alerts(
    state: IncidentState, seq: int, target: EscalationTarget, reason: str, mail_domain: str
) -> list[Notification]:
    context = {
        # The ticket templates' common names: the incident's id, title and severity.
        "ticket_id": state.incident_id,
        "subject": state.title,
        "priority": state.severity,
        "status": state.status.value,
        "requester_name": None,
        "component": state.component,
        "commander": state.commander,
        "linked": len(state.linked),
        "reason": reason,
        "level_name": target.name,
    }
    return [
        Notification(
            key=notification_key(state.incident_id, seq, TEMPLATE, recipient),
            ticket_id=state.incident_id,
            seq=seq,
            template=TEMPLATE,
            language="en",
            recipient=recipient,
            message_id=message_id(
                state.incident_id, seq, f"{TEMPLATE}.{recipient_tag(recipient)}", mail_domain
            ),
            context=context,
        )
        for recipient in target.recipients
    ]
