"""A ticket's creation: its state, first clocks, `created` event and acknowledgment.

`Ticket.create` (`domain.ticket.aggregate`) calls this once, at intake: the ladder the
request follows, the first-response and resolution clocks, the acknowledgment that starts
the email thread, and the escalation its content triggers. Nothing here reads a clock or
does I/O.
"""

from __future__ import annotations

from domain.enums import EventType, Metric
from domain.sla import clocks as sla
from domain.ticket import clocks, escalation, unresolved
from domain.ticket.change import CUSTOMER, Change, Effects
from domain.ticket.state import TicketStarted, TicketState


def open_ticket(started: TicketStarted) -> tuple[TicketState, Effects]:
    """The new ticket's state with its first clocks, its `created` event and the
    acknowledgment."""
    request, at = started.request, started.created_at
    state = TicketState(
        ticket_id=started.ticket_id,
        subject=request.subject,
        description=request.description,
        requester=request.requester,
        channel=request.channel,
        priority=started.priority,
        category=started.category,
        tags=list(request.tags),
        team=started.team,
        assignee=started.assignee,
        first_assignee=started.assignee,
        created_at=at,
        updated_at=at,
        sla=started.sla,
        lifecycle=started.lifecycle,
        escalation=started.escalation,
        mail=started.mail,
        related_ticket_id=started.related_ticket_id,
        approvals=started.approvals,
    )
    change = Change(state, started.mail_domain)
    unresolved.follow_ladder(change)
    if (index := change.state.ladder_index) is not None:
        change.update(escalation_level=started.escalation.ladders[index].start_level)
    for metric in (Metric.FIRST_RESPONSE, Metric.RESOLUTION):
        clock = sla.start_clock(started.sla, metric, at)
        if clock is not None:
            clocks.set_clock(change, clock)
    created = change.event(
        EventType.CREATED,
        at,
        CUSTOMER,
        channel=request.channel,
        priority=started.priority,
        category=started.category,
        team=started.team,
        assignee=started.assignee,
        queued=started.assignee is None,
        related_ticket_id=started.related_ticket_id,
        sla_policy=started.sla.policy_id,
        sla_policy_version=started.sla.policy_version,
        sla_reason=started.sla.reason,
    )
    if started.acknowledge:
        first_response = change.state.clocks.get(Metric.FIRST_RESPONSE)
        due = first_response.due_at if first_response else None
        ack = change.notify_customer(
            created,
            "acknowledgment",
            first_response_due_at=due.strftime("%Y-%m-%d %H:%M UTC") if due else None,
        )
        if ack is not None:
            change.update(thread_message_id=ack.message_id)
        # Only a ticket that may answer its sender: a quarantined email's ticket sends
        # nothing by itself, an escalation notice included.
        escalation.on_content(
            change, at, f"{request.subject}\n{request.description}", source="ticket"
        )
    return change.state, change.effects
