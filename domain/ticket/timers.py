"""The timers of a ticket's life outside the SLA clocks (`LifecycleSpec`, in the snapshot).

Awaiting the customer: a reminder, then auto-resolve. Resolved: auto-close. Closed: the
satisfaction survey, then the end of its answer window (when the workflow may complete,
unless a low score's follow-up is still owed).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.enums import EventType, Status
from domain.ticket import customer, transitions
from domain.ticket.change import SYSTEM, Change
from domain.ticket.state import TicketState

# After closing, the workflow stays reachable for the survey and late answers.
CSAT_RESPONSE_WINDOW = timedelta(days=7)


def deadline(state: TicketState) -> datetime | None:
    """When the next lifecycle timer is due: reminder, auto-resolve, auto-close, survey, end."""
    spec = state.lifecycle
    if state.status == Status.AWAITING_CUSTOMER and state.awaiting_since is not None:
        if state.reminder_sent_at is None:
            return state.awaiting_since + timedelta(seconds=spec.awaiting_customer_reminder_after)
        return state.reminder_sent_at + timedelta(seconds=spec.auto_resolve_after_reminder)
    if state.status == Status.RESOLVED and state.resolved_at is not None:
        return state.resolved_at + timedelta(seconds=spec.auto_close_resolved_after)
    if state.status == Status.CLOSED:
        if (survey := survey_due(state)) is not None:
            return survey
        # A follow-up still owed keeps the workflow open past its end: nothing is due by
        # itself (the follow-up's own clock is an SLA deadline), the agent's reply ends it.
        return None if customer.followup_owed(state) else ends_at(state)
    return None


def summary(state: TicketState) -> str:
    """What `deadline(state)` waits for, as the timer's summary says it."""
    if state.status == Status.AWAITING_CUSTOMER:
        return "reminder" if state.reminder_sent_at is None else "auto-resolve"
    if state.status == Status.RESOLVED:
        return "auto-close"
    if state.status == Status.CLOSED and survey_due(state) is not None:
        return "survey"
    return "end of the survey window"


def fire(change: Change, at: datetime) -> None:
    """Apply the lifecycle timer if it is due by `at`, at its own instant."""
    due = deadline(change.state)
    if due is None or due > at:
        return
    state = change.state
    if state.status == Status.AWAITING_CUSTOMER and state.reminder_sent_at is None:
        event = change.event(EventType.REMINDER_SENT, due, SYSTEM)
        change.notify_customer(event, "awaiting_reminder")
        change.update(reminder_sent_at=due)
    elif state.status == Status.AWAITING_CUSTOMER:
        event = change.event(EventType.RESOLVED, due, SYSTEM, resolution="no reply from customer")
        change.notify_customer(event, "auto_close_notice")
        transitions.resolve(change, due, SYSTEM, auto=True)
    elif state.status == Status.RESOLVED:
        transitions.close(change, due, SYSTEM)
    elif state.status == Status.CLOSED and due == survey_due(state):
        event = change.event(EventType.CSAT_REQUESTED, due, SYSTEM)
        change.notify_customer(event, "csat_survey", survey_url=None, scores=[])
        change.update(csat_requested_at=due)


def survey_due(state: TicketState) -> datetime | None:
    """The survey goes out a while after closing, unless nobody ever answered the customer."""
    silent = state.auto_resolved and state.first_responded_at is None
    if state.closed_at is None or state.csat_requested_at is not None or silent:
        return None
    if state.csat_score is not None:
        return None
    return state.closed_at + timedelta(seconds=state.lifecycle.csat_survey_after)


def ends_at(state: TicketState) -> datetime | None:
    """When a closed ticket's workflow may complete: after the survey and its answer window."""
    if state.closed_at is None:
        return None
    survey = timedelta(seconds=state.lifecycle.csat_survey_after)
    return state.closed_at + survey + CSAT_RESPONSE_WINDOW


def finished(state: TicketState, now: datetime) -> bool:
    """Closed, past the survey's answer window, and owing no follow-up."""
    end = ends_at(state)
    return (
        state.status == Status.CLOSED
        and end is not None
        and now >= end
        and not customer.followup_owed(state)
    )
