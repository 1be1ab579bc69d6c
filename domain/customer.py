"""The customer's side of a ticket and what time does to it.

Replies (which resume waiting clocks and reopen resolved tickets), satisfaction
scores, and the timers outside the SLA: the awaiting-customer reminder and
auto-resolve, auto-close of resolved tickets, the CSAT survey after closing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.actions import Action, CustomerReply, Rate
from domain.calendar import Interval, add_business_seconds
from domain.enums import EventType, Metric, Status
from domain.errors import FollowUpRequired, InvalidTransition
from domain.escalation import EscalatingTicket, asks_for_escalation
from domain.machine import CUSTOMER, SYSTEM, Effects
from domain.sla import SlaClock, retarget

# How many inbound Message-IDs a ticket remembers to ignore redelivered emails.
REMEMBERED_MESSAGE_IDS = 200


class CustomerTicket(EscalatingTicket):
    # -- resolving, reopening, closing ---------------------------------------------------------

    def _free_capacity(self, effects: Effects) -> None:
        """The assignee's slot frees up (resolved, or reassigned): their team's queue may move."""
        if self.state.assignee is not None and self.state.team is not None:
            effects.freed_teams.append(self.state.team)

    def _resolve(self, effects: Effects, at: datetime, actor: str, *, auto: bool) -> None:
        self._free_capacity(effects)
        if not auto:
            self.public_response(effects, at)
        self._meet(effects, Metric.RESOLUTION, at)
        self._cancel(Metric.NEXT_UPDATE)
        self._update(resolved_at=at, resolved_by=actor, auto_resolved=auto, awaiting_since=None)
        self._set_status(effects, Status.RESOLVED, at, actor)

    def _reopen(self, effects: Effects, at: datetime, who: str, reason: str) -> None:
        count = self.state.reopen_count + 1
        self._update(reopen_count=count, resolved_at=None)
        self._event(effects, EventType.REOPENED, at, who, reason=reason, count=count)
        self._set_status(effects, Status.OPEN, at, who)
        self._restart_resolution(effects, at)
        if count == self.state.escalation.reopen_threshold:
            self.raise_level(effects, at, reason=f"reopened {count} times", trigger="reopens")

    def _restart_resolution(self, effects: Effects, at: datetime) -> None:
        """Per the policy: a new resolution cycle, or the old one continued (the resolved
        time counted as a pause)."""
        clock = self.state.clocks.get(Metric.RESOLUTION)
        if clock is None or clock.met_at is None or self.state.sla.reopen == "new_cycle":
            self._start(effects, Metric.RESOLUTION, at)
            return
        continued = clock.model_copy(
            update={
                "met_at": None,
                "state": "breached" if clock.breached_at else "running",
                "pauses": [*clock.pauses, Interval(start=clock.met_at, end=at)],
            }
        )
        self._set_clock(retarget(self.state.sla, continued, continued.target_seconds))

    def _close(self, effects: Effects, at: datetime, who: str) -> None:
        self._update(closed_at=at)
        self._event(effects, EventType.CLOSED, at, who)
        self._set_status(effects, Status.CLOSED, at, who)

    # -- customer replies ------------------------------------------------------------------------

    def validate_customer_reply(self, at: datetime) -> None:
        """A closed ticket, or one resolved longer ago than the reopen window, takes no replies:
        the customer's message becomes a follow-up ticket instead."""
        state = self.state
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
        self.check(Action.CUSTOMER_REPLY)

    def customer_reply(self, reply: CustomerReply, at: datetime) -> Effects:
        """Resumes what waited on the customer; reopens a resolved ticket; a redelivered email
        (same Message-ID) changes nothing."""
        effects = Effects()
        if reply.message_id and reply.message_id in self.state.inbound_message_ids:
            return effects
        self.validate_customer_reply(at)
        if reply.message_id:
            remembered = [*self.state.inbound_message_ids, reply.message_id]
            self._update(inbound_message_ids=remembered[-REMEMBERED_MESSAGE_IDS:])
        self._event(
            effects,
            EventType.CUSTOMER_REPLY,
            at,
            CUSTOMER,
            body=reply.body,
            message_id=reply.message_id,
        )
        if self.state.status == Status.RESOLVED:
            self._reopen(effects, at, CUSTOMER, "customer replied")
        elif self.state.status == Status.AWAITING_CUSTOMER:
            self._update(awaiting_since=None, reminder_sent_at=None)
            self._set_status(effects, Status.OPEN, at, CUSTOMER)
        if asks_for_escalation(reply.body):
            self.raise_level(
                effects, at, reason="the customer asked for escalation", trigger="customer"
            )
        return effects

    # -- satisfaction ----------------------------------------------------------------------------

    def validate_rate(self, rate: Rate) -> None:
        """A score is accepted once, after resolution."""
        self.check(Action.CSAT)
        state = self.state
        if state.csat_score is not None:
            raise InvalidTransition(
                f"cannot rate: ticket {state.ticket_id} was already rated {state.csat_score}"
            )

    def rate(self, rate: Rate, at: datetime) -> Effects:
        """Record the score; a low one owes a manager follow-up (a clock) and escalates."""
        self.validate_rate(rate)
        effects = Effects()
        self._update(csat_score=rate.score, csat_comment=rate.comment, csat_answered_at=at)
        event = self._event(
            effects, EventType.CSAT_RECEIVED, at, CUSTOMER, score=rate.score, comment=rate.comment
        )
        if rate.score < self.state.escalation.low_csat_threshold:
            target = self.state.escalation.csat_followup_seconds
            due = add_business_seconds(self.state.sla.calendar, at, target)
            clock = SlaClock(
                metric=Metric.CSAT_FOLLOWUP, target_seconds=target, started_at=at, due_at=due
            )
            self._set_clock(clock)
            self._notify_customer(
                effects,
                event,
                "low_csat_followup",
                score=rate.score,
                comment=rate.comment,
                manager_name=None,
            )
            self.raise_level(
                effects, at, reason=f"satisfaction score {rate.score} of 5", trigger="csat"
            )
        return effects

    def followup_owed(self) -> bool:
        clock = self.state.clocks.get(Metric.CSAT_FOLLOWUP)
        return clock is not None and clock.is_live

    def _survey_due(self) -> datetime | None:
        """The survey goes out a while after closing, unless nobody ever answered the customer."""
        state = self.state
        silent = state.auto_resolved and state.first_responded_at is None
        if state.closed_at is None or state.csat_requested_at is not None or silent:
            return None
        if state.csat_score is not None:
            return None
        return state.closed_at + timedelta(seconds=state.lifecycle.csat_survey_after)

    # -- time ------------------------------------------------------------------------------------

    def lifecycle_deadline(self) -> datetime | None:
        if self.state.status == Status.CLOSED:
            if (survey := self._survey_due()) is not None:
                return survey
            # A follow-up still owed keeps the workflow open past its end: nothing is due by
            # itself (the follow-up's own clock is an SLA deadline), the agent's reply ends it.
            return None if self.followup_owed() else self.ends_at()
        return super().lifecycle_deadline()

    def next_wakeup(self) -> datetime | None:
        candidates = (super().next_wakeup(), self.unresolved_deadline())
        return min((t for t in candidates if t is not None), default=None)

    def tick(self, now: datetime) -> Effects:
        """Everything due by `now`, in time order: SLA points and their escalations,
        unresolved-time steps, the reminder, auto-resolve, auto-close and the survey.

        Invariant: afterwards `next_wakeup()` is None or after `now`, unless the ticket is
        `finished(now)`; a timer that fired late (a worker down for days) catches up on every
        step it missed, each at its own instant.
        """
        effects = Effects()
        while (due := self.next_wakeup()) is not None and due <= now:
            before = self.state
            self._step(effects, due)
            if self.state is before:  # nothing was due after all (the end of a closed ticket)
                break
        return effects

    def _step(self, effects: Effects, at: datetime) -> None:
        """Apply what is due at `at`, the nearest wakeup."""
        self.on_sla_transitions(effects, self._advance_clocks(effects, at))
        self.escalate_unresolved(effects, at)
        deadline = self.lifecycle_deadline()
        if deadline is None or deadline > at:
            return
        status = self.state.status
        if status == Status.AWAITING_CUSTOMER and self.state.reminder_sent_at is None:
            event = self._event(effects, EventType.REMINDER_SENT, deadline, SYSTEM)
            self._notify_customer(effects, event, "awaiting_reminder")
            self._update(reminder_sent_at=deadline)
        elif status == Status.AWAITING_CUSTOMER:
            event = self._event(
                effects, EventType.RESOLVED, deadline, SYSTEM, resolution="no reply from customer"
            )
            self._notify_customer(effects, event, "auto_close_notice")
            self._resolve(effects, deadline, SYSTEM, auto=True)
        elif status == Status.RESOLVED:
            self._close(effects, deadline, SYSTEM)
        elif status == Status.CLOSED and deadline == self._survey_due():
            event = self._event(effects, EventType.CSAT_REQUESTED, deadline, SYSTEM)
            self._notify_customer(effects, event, "csat_survey", survey_url=None, scores=[])
            self._update(csat_requested_at=deadline)

    def finished(self, now: datetime) -> bool:
        """Closed, past the survey's answer window, and owing no follow-up."""
        end = self.ends_at()
        return (
            self.state.status == Status.CLOSED
            and end is not None
            and now >= end
            and not self.followup_owed()
        )
