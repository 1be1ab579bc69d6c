"""`TicketWorkflow`: one ticket, one workflow, workflow id = ticket id.

The workflow owns the ticket's state and every SLA clock. Transitions are the
`domain.ticket.aggregate.Ticket`'s; this class adds durability: it keeps one
timer for the nearest deadline, applies each decision and upserts the search
attributes at its due second, and answers queries and updates (the agents'
and the customer's actions are `workflows.ticket_actions`'s, inherited). Recording
events and sending emails drain beside the loop (`workflows.effects`): no
outage of SMTP, the store or dispatch ever delays a decision.
Every update has a validator, so a refused action never enters history.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from domain.approvals.models import ApprovalOutcome, ApprovalStarted, ApprovalView
from domain.enums import EventType
from domain.errors import DomainError
from domain.ticket.aggregate import Ticket
from domain.ticket.change import CreditAsk, Effects
from domain.ticket.links import IncidentLink, IncidentNotice, ParentLink
from domain.ticket.notifications import Notification
from domain.ticket.state import TicketState, TicketWorkflowInput
from domain.ticket.views import TicketBrief, ticket_brief
from workflows.approvals_of_ticket import TicketApprovals
from workflows.details import OperatorView
from workflows.effects import EffectDrains, Pending
from workflows.ticket_actions import TicketActions
from workflows.timer import WakeupTimer

__all__ = ["TicketWorkflow", "TicketWorkflowInput"]

INCIDENT_LINKS = "incident-links"
"""Patch: a ticket that leaves its incident by itself (reopened) tells the incident."""
TICKET_LEFT_SIGNAL = "ticket_left"
"""`IncidentWorkflow`'s signal, named here so the ticket need not import the incident."""
KEEP_UNCHANGED_TIMER = "keep-unchanged-timer"
"""Patch: one timer kept while the wakeup instant is unchanged (before: re-created per wake)."""


@workflow.defn
class TicketWorkflow(TicketActions):
    @workflow.init
    def __init__(self, input: TicketWorkflowInput) -> None:
        self._changed = False
        """Set by every update and effect outcome: the loop ticks and publishes again."""
        self._timer = WakeupTimer()
        if input.carried is not None:
            self._ticket = Ticket(input.carried, input.started.mail_domain)
            pending = Pending(
                events=list(input.unrecorded),
                notifications=list(input.unsent),
                teams=list(input.undispatched),
            )
        else:
            self._ticket, created = Ticket.create(input.started)
            unrecorded = [e for e in created.events if e.seq > input.recorded_seq]
            # A content trigger at intake may move the ticket to a level's team: that queue is
            # dispatched. (No recorded history has such a ticket, so `teams` is empty there.)
            pending = Pending(
                events=unrecorded,
                notifications=created.notifications,
                teams=list(created.freed_teams),
            )
        self._effects = EffectDrains(
            state=lambda: self._ticket.state,
            email_failed=self._email_failed,
            settled=self._refresh_details,
            email_deadline=timedelta(seconds=self._ticket.state.lifecycle.email_delivery_deadline),
            carried=pending,
            row_recorded=input.carried is None and input.recorded_seq > 0,
        )
        self._approvals = TicketApprovals(ticket=lambda: self._ticket, queue=self._queue)
        self._view = OperatorView(
            {pair.key.name: pair.value for pair in workflow.info().typed_search_attributes}
        )

    # -- plumbing for updates -------------------------------------------------------------

    def _apply(self, transition: Callable[[Ticket, datetime], Effects]) -> TicketBrief:
        """Apply an action now; its result is the compact view, kept in history forever."""
        now = workflow.now()
        self._queue(transition(self._ticket, now))
        return ticket_brief(self._ticket.state, now)

    def _queue(self, effects: Effects) -> None:
        self._effects.queue(effects)
        self._changed = True
        for ask in effects.credit_asks:
            self._ask_credit(ask)
        if effects.left_incidents and workflow.patched(INCIDENT_LINKS):
            for incident_id in effects.left_incidents:
                self._effects.spawn(self._tell_incident(incident_id))

    def _ask_credit(self, ask: CreditAsk) -> None:
        """An automatic credit the policy sends through an approver: its own approval."""
        self._approvals.ask_credit(ask)

    async def _tell_incident(self, incident_id: str) -> None:
        """The incident counts this ticket out; an incident that has ended needs no telling."""
        handle = workflow.get_external_workflow_handle(incident_id)
        try:
            await handle.signal(TICKET_LEFT_SIGNAL, self._ticket.state.ticket_id)
        except Exception as err:  # the incident completed (its report is in): nothing to tell
            workflow.logger.info(
                "incident %s not told of %s leaving: %s",
                incident_id,
                self._ticket.state.ticket_id,
                err,
            )

    def _email_failed(self, notification: Notification, error: str) -> None:
        """An email given up on (refused for good, or past its deadline) goes on the timeline."""
        effects = Effects()
        self._ticket.note_notification(
            effects, EventType.NOTIFICATION_FAILED, notification, workflow.now(), error
        )
        self._queue(effects)

    def _validate(self, check: Callable[[Ticket], None]) -> None:
        """Run a read-only check; a domain refusal reaches the API as its class name."""
        try:
            check(self._ticket)
        except DomainError as err:
            raise ApplicationError(
                err.message, type=type(err).__name__, non_retryable=True
            ) from err

    # -- queries and updates ---------------------------------------------------------------

    @workflow.query
    def state(self) -> TicketState:
        """The whole ticket state; the API derives live clocks from it at its own now."""
        return self._ticket.state

    @workflow.update
    async def request_approval(self, ask: ApprovalStarted) -> ApprovalView:
        """A refund, credit or cancellation for an approver: a child `ApprovalWorkflow`
        (`<ticket>-R<n>`); the ticket waits on hold until it is decided."""
        return await self._approvals.start(ask)

    @request_approval.validator
    def _validate_request_approval(self, ask: ApprovalStarted) -> None:
        self._validate(lambda t: t.validate_approval_request())

    @workflow.signal
    def approval_decided(self, outcome: ApprovalOutcome) -> None:
        """An approval of this ticket was decided: off the pending list (and off hold)."""
        self._queue(self._ticket.approval_decided(outcome, workflow.now()))

    @workflow.update
    def link_incident(self, link: IncidentLink) -> TicketBrief:
        """Sent by the incident's link fan-out: the ticket joins the incident."""
        return self._apply(lambda t, now: t.link_incident(link, now))

    @link_incident.validator
    def _validate_link_incident(self, link: IncidentLink) -> None:
        self._validate(lambda t: t.validate_link_incident(link))

    @workflow.update
    def unlink_incident(self, link: IncidentLink) -> TicketBrief:
        return self._apply(lambda t, now: t.unlink_incident(link, now))

    @workflow.update
    def incident_notice(self, notice: IncidentNotice) -> TicketBrief:
        """An incident's public update or resolution: applied once per `update_id`."""
        return self._apply(lambda t, now: t.incident_notice(notice, now))

    @workflow.update
    def link_parent(self, link: ParentLink) -> TicketBrief:
        return self._apply(lambda t, now: t.link_parent(link, now))

    @link_parent.validator
    def _validate_link_parent(self, link: ParentLink) -> None:
        self._validate(lambda t: t.validate_link_parent(link))

    @workflow.signal
    def retry_effects(self) -> None:
        """Operators: the store refused this ticket's data and the cause is repaired
        (e.g. a column widened): record the pending events again."""
        self._effects.retry_store()
        self._changed = True

    # -- the main loop ---------------------------------------------------------------------

    @workflow.run
    async def run(self, input: TicketWorkflowInput) -> TicketBrief:
        """Runs until the ticket is closed, past its survey window and every effect is done;
        the result is the compact view (the whole state, with the description, stays out)."""
        self._effects.start()
        while True:
            now = workflow.now()
            self._queue(self._ticket.tick(now))
            self._publish()
            self._changed = False
            if self._ticket.finished(now):
                # Done deciding; complete once every effect has drained (or an update or an
                # effect's outcome changes the ticket again).
                await workflow.wait_condition(
                    lambda: (
                        self._changed or (workflow.all_handlers_finished() and self._effects.idle())
                    )
                )
                if self._changed:
                    continue
                return ticket_brief(self._ticket.state, workflow.now())
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                pending = self._effects.pending()
                workflow.continue_as_new(
                    TicketWorkflowInput(
                        started=input.started,
                        carried=self._ticket.state,
                        unrecorded=pending.events,
                        unsent=pending.notifications,
                        undispatched=pending.teams,
                    )
                )
            wakeup = self._next_wakeup(now)
            if workflow.patched(KEEP_UNCHANGED_TIMER):
                self._timer.arm(now, wakeup, self._ticket.wakeup_summary(wakeup))
                await workflow.wait_condition(lambda: self._changed or self._timer.fired())
                continue
            timeout = None if wakeup is None else (wakeup - now).total_seconds()
            with contextlib.suppress(asyncio.TimeoutError):
                await workflow.wait_condition(
                    lambda: self._changed,
                    timeout=timeout,
                    timeout_summary=self._ticket.wakeup_summary(wakeup),
                )

    def _next_wakeup(self, now: datetime) -> datetime | None:
        """The ticket's next wakeup; one that is not in the future would spin the loop (the
        domain guarantees it never is: tests/domain/ticket/test_wakeup_property.py), so it is
        logged and dropped, and the ticket waits for its next action instead."""
        wakeup = self._ticket.next_wakeup()
        if wakeup is not None and wakeup <= now:
            workflow.logger.error(
                "ticket %s: next wakeup %s is not after now %s; waiting for an action",
                self._ticket.state.ticket_id, wakeup.isoformat(), now.isoformat(),
            )  # fmt: skip
            return None
        return wakeup

    def _publish(self) -> None:
        self._view.publish(
            self._ticket.state,
            store_error=self._effects.store_error,
            pending=self._effects.summary(),
        )

    def _refresh_details(self) -> None:
        self._view.refresh(self._ticket.state, self._effects.summary())
