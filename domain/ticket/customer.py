"""The customer's side of a ticket: replies and satisfaction scores.

A reply resumes what waited on the customer and reopens a resolved ticket; a low score owes
a manager's follow-up (a clock of its own) and escalates.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.enums import EventType, Metric, Status
from domain.errors import FollowUpRequired, InvalidTransition
from domain.sla.calendar import add_business_seconds
from domain.sla.clocks import SlaClock
from domain.ticket import clocks, credits, escalation, transitions
from domain.ticket.actions import Action, CustomerReply, Rate
from domain.ticket.change import CUSTOMER, Change
from domain.ticket.state import TicketState

# How many inbound Message-IDs a ticket remembers to ignore redelivered emails.
REMEMBERED_MESSAGE_IDS = 200


def check_reply(state: TicketState, at: datetime) -> None:
    """A closed ticket, or one resolved longer ago than the reopen window, takes no replies:
    the customer's message becomes a follow-up ticket instead."""
    window = timedelta(seconds=state.lifecycle.reopen_window)
    late = (
        state.status == Status.RESOLVED
        and state.resolved_at is not None
        and at > state.resolved_at + window
    )
    if state.status == Status.CLOSED or late:
        raise FollowUpRequired(
            f"ticket {state.ticket_id} is {state.status.value} and takes no more replies; "
            "the message opens a follow-up ticket"
        )
    transitions.check(state, Action.CUSTOMER_REPLY)


def reply(change: Change, reply: CustomerReply, at: datetime) -> None:
    """Resumes what waited on the customer; reopens a resolved ticket; a redelivered email
    (same Message-ID) changes nothing."""
    if reply.message_id and reply.message_id in change.state.inbound_message_ids:
        return
    check_reply(change.state, at)
    if reply.message_id:
        remembered = [*change.state.inbound_message_ids, reply.message_id]
        change.update(inbound_message_ids=remembered[-REMEMBERED_MESSAGE_IDS:])
    change.event(
        EventType.CUSTOMER_REPLY, at, CUSTOMER, body=reply.body, message_id=reply.message_id
    )
    if change.state.status == Status.RESOLVED:
        transitions.reopen(change, at, CUSTOMER, "customer replied")
    elif change.state.status == Status.AWAITING_CUSTOMER:
        change.update(awaiting_since=None, reminder_sent_at=None)
        transitions.set_status(change, Status.OPEN, at, CUSTOMER)
    if _asks_for_escalation(change.state, reply.body):
        escalation.raise_level(
            change, at, reason="the customer asked for escalation", trigger="customer"
        )
    escalation.on_content(change, at, reply.body, source="customer's reply")


def _asks_for_escalation(state: TicketState, body: str) -> bool:
    """The desk's words (`language_rules`, snapshotted at intake), else the built-in ones."""
    words = state.mail.escalation_words
    if words is None:
        return escalation.asks_for_escalation(body)
    lowered = body.lower()
    return any(word in lowered for word in words)


def check_rate(state: TicketState) -> None:
    """A score is accepted once, after resolution."""
    transitions.check(state, Action.CSAT)
    if state.csat_score is not None:
        raise InvalidTransition(
            f"cannot rate: ticket {state.ticket_id} was already rated {state.csat_score}"
        )


def rate(change: Change, rate: Rate, at: datetime) -> None:
    """Record the score; a low one owes a manager follow-up (a clock) and escalates."""
    check_rate(change.state)
    change.update(csat_score=rate.score, csat_comment=rate.comment, csat_answered_at=at)
    event = change.event(
        EventType.CSAT_RECEIVED, at, CUSTOMER, score=rate.score, comment=rate.comment
    )
    ladder = change.state.escalation
    if rate.score < ladder.low_csat_threshold:
        target = ladder.csat_followup_seconds
        due = add_business_seconds(change.state.sla.calendar, at, target)
        clock = SlaClock(
            metric=Metric.CSAT_FOLLOWUP, target_seconds=target, started_at=at, due_at=due
        )
        clocks.set_clock(change, clock)
        credit = credits.credit_on_score(change, rate.score, at)
        change.notify_customer(
            event,
            "low_csat_followup",
            score=rate.score,
            comment=rate.comment,
            manager_name=None,
            credit=credit,
        )
        # Where the follow-up goes (the policy's `low_csat_followup.to`), never down.
        level = ladder.csat_followup_level
        if level is None or level > change.state.escalation_level:
            escalation.raise_level(
                change,
                at,
                reason=f"satisfaction score {rate.score} of 5",
                trigger="csat",
                level=level,
            )


def followup_owed(state: TicketState) -> bool:
    """A low score's follow-up is still owed (its clock is live)."""
    clock = state.clocks.get(Metric.CSAT_FOLLOWUP)
    return clock is not None and clock.is_live
