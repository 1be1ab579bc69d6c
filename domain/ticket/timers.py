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
from domain.ticket.correspondence import SURVEY_LINK_TTL
from domain.ticket.state import TicketState

# After closing, the workflow stays reachable for the survey and late answers (by default;
# a desk's `csat.link_ttl` sets it per ticket, `MailSnapshot.link_ttl`).
CSAT_RESPONSE_WINDOW = timedelta(seconds=SURVEY_LINK_TTL)


def deadline(state: TicketState) -> datetime | None:
    """When the next lifecycle timer is due: reminder, auto-resolve, auto-close, survey, end."""
    spec = state.lifecycle
    if state.status == Status.AWAITING_CUSTOMER and state.awaiting_since is not None:
        if state.reminder_sent_at is None:
            return state.awaiting_since + timedelta(seconds=spec.awaiting_customer_reminder_after)
        return state.reminder_sent_at + timedelta(seconds=spec.auto_resolve_after_reminder)
    if state.status == Status.RESOLVED and state.resolved_at is not None:
        auto_close = state.resolved_at + timedelta(seconds=spec.auto_close_resolved_after)
        survey = survey_due(state)
        return auto_close if survey is None else min(auto_close, survey)
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
    survey = survey_due(state)
    if survey is not None and survey == deadline(state):
        return "survey"
    if state.status == Status.RESOLVED:
        return "auto-close"
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
    elif due == survey_due(state):
        # Before auto-close when both are due at once: the survey asks about the resolution.
        event = change.event(EventType.CSAT_REQUESTED, due, SYSTEM)
        expires = due + timedelta(seconds=state.mail.link_ttl)
        # The links themselves are signed by the email activity (the secret stays out of
        # the workflow); they name this event and expire with the answer window.
        change.notify_customer(
            event, "csat_survey", survey_url=None, scores=[], links_expire_at=expires.isoformat()
        )
        change.update(csat_requested_at=due)
    elif state.status == Status.RESOLVED:
        transitions.close(change, due, SYSTEM)


def survey_due(state: TicketState) -> datetime | None:
    """The survey goes out a while after closing (or resolving: `csat.send_after`), once per
    ticket, unless nobody ever answered the customer or they rated already."""
    silent = state.auto_resolved and state.first_responded_at is None
    if state.csat_requested_at is not None or silent or state.csat_score is not None:
        return None
    anchor = _survey_anchor(state)
    if anchor is None:
        return None
    return anchor + timedelta(seconds=state.lifecycle.csat_survey_after)


def _survey_anchor(state: TicketState) -> datetime | None:
    if state.mail.survey_after == "resolved":
        resolved = state.status in (Status.RESOLVED, Status.CLOSED)
        return state.resolved_at if resolved else None
    return state.closed_at


def ends_at(state: TicketState) -> datetime | None:
    """When a closed ticket's workflow may complete: after the survey and its answer window
    (the links' lifetime, `csat.link_ttl`: a link must find the workflow running)."""
    if state.closed_at is None:
        return None
    window = timedelta(seconds=state.mail.link_ttl)
    survey = timedelta(seconds=state.lifecycle.csat_survey_after)
    if state.mail.survey_after == "resolved":
        surveyed = state.csat_requested_at or (
            state.resolved_at + survey if state.resolved_at is not None else state.closed_at
        )
        return max(state.closed_at, surveyed + window)
    return state.closed_at + survey + window


def finished(state: TicketState, now: datetime) -> bool:
    """Closed, past the survey's answer window, and owing no follow-up."""
    end = ends_at(state)
    return (
        state.status == Status.CLOSED
        and end is not None
        and now >= end
        and not customer.followup_owed(state)
    )
