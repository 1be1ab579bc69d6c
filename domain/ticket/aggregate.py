"""`Ticket`: the one aggregate of a ticket: creation, every action, and what time does.

The workflow is a thin durable shell around it: it supplies `workflow.now()`, runs the
`validate_*` checks in its Update validators (so a refused action never enters history),
records the events and sends the notifications the returned `Effects` hold. Each concern
is a module of functions over a `Change` that this class calls: `agent` (the agents'
actions), `customer` (replies, scores), `transitions` (the status machine), `clocks` (the
SLA clocks), `escalation` (the ladder), `unresolved` (its timed steps) and `timers`
(reminder, auto-resolve, auto-close, survey); `creation` opens the ticket. Nothing here
reads a clock or does I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from domain.approvals.models import ApprovalOutcome, ApprovalStarted
from domain.enums import EventType
from domain.ticket import (
    agent,
    approvals,
    clocks,
    creation,
    customer,
    escalation,
    links,
    timers,
    transitions,
    unresolved,
)
from domain.ticket.actions import (
    Action,
    AgentNote,
    AgentReply,
    Assign,
    ChangePriority,
    Close,
    CustomerReply,
    Escalate,
    Hold,
    Rate,
    Reopen,
    RequestInfo,
    Resolve,
)
from domain.ticket.change import SYSTEM, Change, Effects, agent_actor
from domain.ticket.links import IncidentLink, IncidentNotice, ParentLink
from domain.ticket.notifications import Notification
from domain.ticket.state import TicketStarted, TicketState


class Ticket:
    """One ticket's state and everything that changes it. Each change runs on a `Change`
    and is kept only once it is complete, so a refused action leaves the state as it was."""

    def __init__(self, state: TicketState, mail_domain: str) -> None:
        self.state = state
        self.mail_domain = mail_domain

    def _apply(self, step: Callable[[Change], object]) -> Effects:
        change = Change(self.state, self.mail_domain)
        step(change)
        self.state = change.state
        return change.effects

    @classmethod
    def create(cls, started: TicketStarted) -> tuple[Ticket, Effects]:
        """The new ticket with its first clocks, its `created` event and the acknowledgment."""
        state, effects = creation.open_ticket(started)
        return cls(state, started.mail_domain), effects

    # -- checks (the workflow's Update validators) -----------------------------------------------

    def check(self, action: Action) -> None:
        transitions.check(self.state, action)

    def validate_reply(self) -> None:
        agent.check_reply(self.state)

    def validate_assign(self, assign: Assign) -> None:
        agent.check_assign(self.state, assign)

    def validate_priority(self, change: ChangePriority) -> None:
        agent.check_priority(self.state, change)

    def validate_escalate(self, escalate: Escalate) -> None:
        agent.check_escalate(self.state, escalate)

    def validate_customer_reply(self, at: datetime) -> None:
        customer.check_reply(self.state, at)

    def validate_rate(self, rate: Rate) -> None:
        customer.check_rate(self.state)

    def validate_approval_request(self) -> None:
        approvals.check_request(self.state)

    # -- the agents' actions ---------------------------------------------------------------------

    def reply(self, reply: AgentReply, at: datetime) -> Effects:
        return self._apply(lambda change: agent.reply(change, reply, at))

    def note(self, note: AgentNote, at: datetime) -> Effects:
        return self._apply(lambda change: agent.note(change, note, at))

    def request_info(self, request: RequestInfo, at: datetime) -> Effects:
        return self._apply(lambda change: agent.request_info(change, request, at))

    def assign(self, assign: Assign, at: datetime) -> Effects:
        return self._apply(lambda change: agent.assign(change, assign, at))

    def change_priority(self, new: ChangePriority, at: datetime) -> Effects:
        return self._apply(lambda change: agent.change_priority(change, new, at))

    def escalate(self, escalate: Escalate, at: datetime) -> Effects:
        return self._apply(lambda change: agent.escalate(change, escalate, at))

    def hold(self, hold: Hold, at: datetime) -> Effects:
        return self._apply(lambda change: agent.hold(change, hold, at))

    def resolve(self, resolve: Resolve, at: datetime) -> Effects:
        return self._apply(lambda change: agent.resolve(change, resolve, at))

    def reopen(self, reopen: Reopen, at: datetime) -> Effects:
        return self._apply(lambda change: agent.reopen(change, reopen, at))

    def close(self, close: Close, at: datetime) -> Effects:
        return self._apply(lambda change: agent.close(change, close, at))

    # -- links: a major incident, a parent ----------------------------------------------------

    def validate_link_incident(self, link: IncidentLink) -> None:
        links.check_link_incident(self.state, link)

    def validate_link_parent(self, link: ParentLink) -> None:
        links.check_link_parent(self.state, link)

    def link_incident(self, link: IncidentLink, at: datetime) -> Effects:
        return self._apply(lambda change: links.link_incident(change, link, at))

    def unlink_incident(self, link: IncidentLink, at: datetime) -> Effects:
        actor = agent_actor(link.actor)
        return self._apply(
            lambda change: links.unlink_incident(change, link.incident_id, at, actor, "unlinked")
        )

    def incident_notice(self, notice: IncidentNotice, at: datetime) -> Effects:
        return self._apply(lambda change: links.apply_notice(change, notice, at))

    def link_parent(self, link: ParentLink, at: datetime) -> Effects:
        return self._apply(lambda change: links.link_parent(change, link, at))

    # -- the customer's side ---------------------------------------------------------------------

    def customer_reply(self, reply: CustomerReply, at: datetime) -> Effects:
        return self._apply(lambda change: customer.reply(change, reply, at))

    def rate(self, rate: Rate, at: datetime) -> Effects:
        return self._apply(lambda change: customer.rate(change, rate, at))

    # -- approvals (each one an `ApprovalWorkflow`, a child of the ticket) -----------------------

    def request_approval(self, started: ApprovalStarted, at: datetime) -> Effects:
        return self._apply(lambda change: approvals.request(change, started, at))

    def approval_decided(self, outcome: ApprovalOutcome, at: datetime) -> Effects:
        return self._apply(lambda change: approvals.decided(change, outcome, at))

    def note_notification(
        self,
        effects: Effects,
        kind: EventType,
        notification: Notification,
        at: datetime,
        error: str | None = None,
    ) -> None:
        """Put a sent (or permanently refused) email on the timeline, into `effects`."""
        data: dict[str, object] = {
            "template": notification.template,
            "for_seq": notification.seq,
            "message_id": notification.message_id,
        }
        if error:
            data["error"] = error
        change = Change(self.state, self.mail_domain)
        if kind == EventType.NOTIFICATION_FAILED:
            change.update(notifications_failed=self.state.notifications_failed + 1)
        change.event(kind, at, SYSTEM, **data)
        self.state = change.state
        effects.events += change.effects.events

    # -- time ------------------------------------------------------------------------------------

    def tick(self, now: datetime) -> Effects:
        """Everything due by `now`, in time order, each step at its own instant: SLA points
        and their escalations, unresolved-time steps, the reminder, auto-resolve, auto-close
        and the survey.

        Invariant: afterwards `next_wakeup()` is None or after `now`, unless the ticket is
        `finished(now)`; a timer that fired late (a worker down for days) catches up on every
        step it missed, each at its own instant.
        """
        change = Change(self.state, self.mail_domain)
        while (due := next_wakeup(change.state)) is not None and due <= now:
            before = change.state
            # 1. The clocks reach their at-risk points and breaches; the ladder answers.
            escalation.on_sla_transitions(change, clocks.advance(change, due))
            # 2. Unresolved too long: one level up per multiple of the priority's threshold.
            unresolved.escalate_unresolved(change, due)
            # 3. The lifecycle timer: reminder, auto-resolve, auto-close or survey.
            timers.fire(change, due)
            if change.state is before:  # nothing was due after all (the end of a closed ticket)
                break
        self.state = change.state
        return change.effects

    def next_wakeup(self) -> datetime | None:
        """The nearest instant at which the ticket does something by itself."""
        return next_wakeup(self.state)

    def wakeup_summary(self, due: datetime | None) -> str:
        """What the timer set for `due` waits for, as operators read it on the timeline."""
        if due is None:
            return "waiting"
        state = self.state
        if (clock_point := clocks.deadline_summary(state, due)) is not None:
            return clock_point
        if unresolved.unresolved_deadline(state) == due:
            return unresolved.unresolved_summary(state)
        return timers.summary(state)

    def lifecycle_deadline(self) -> datetime | None:
        return timers.deadline(self.state)

    def unresolved_deadline(self) -> datetime | None:
        return unresolved.unresolved_deadline(self.state)

    def ends_at(self) -> datetime | None:
        return timers.ends_at(self.state)

    def followup_owed(self) -> bool:
        return customer.followup_owed(self.state)

    def finished(self, now: datetime) -> bool:
        return timers.finished(self.state, now)


def next_wakeup(state: TicketState) -> datetime | None:
    """The nearest of the clocks' next point, the next unresolved step and the lifecycle
    timer."""
    candidates = (
        clocks.next_deadline(state),
        unresolved.unresolved_deadline(state),
        timers.deadline(state),
    )
    return min((t for t in candidates if t is not None), default=None)
