"""`TicketWorkflow`: one ticket, one workflow, workflow id = ticket id.

The workflow owns the ticket's state and every SLA clock. Transitions are the
pure functions of `domain.lifecycle`; this class adds durability: it keeps one
timer for the nearest deadline, records each event in the store and sends
each notification through activities, and answers queries and updates.
Every update has a validator, so a refused action never enters history.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.dispatch import DispatchActivities
    from activities.email import PERMANENT_SMTP_ERROR, EmailActivities
    from activities.projection import ProjectionActivities, ProjectionInput
    from domain.actions import (
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
    from domain.enums import EventType
    from domain.errors import DomainError
    from domain.lifecycle import Ticket
    from domain.machine import Effects
    from domain.notifications import Notification
    from domain.ticket import TicketEvent, TicketState, TicketWorkflowInput
    from workflows import search_attributes as sa
    from workflows.details import current_details

__all__ = ["TicketWorkflow", "TicketWorkflowInput"]

STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)
MAIL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    non_retryable_error_types=[PERMANENT_SMTP_ERROR],
)


async def _done() -> None:
    return None


@workflow.defn
class TicketWorkflow:
    @workflow.init
    def __init__(self, input: TicketWorkflowInput) -> None:
        self._unrecorded: list[TicketEvent] = list(input.unrecorded)
        self._unsent: list[Notification] = list(input.unsent)
        self._freed_teams: list[str] = []
        self._details_seq = -1
        if input.carried is not None:
            self._ticket = Ticket(input.carried, input.started.mail_domain)
        else:
            self._ticket, effects = Ticket.create(input.started)
            self._queue(effects)
        # What the search attributes hold now (set at start by the API, then upserted).
        self._published: dict[str, object] = {
            pair.key.name: pair.value for pair in workflow.info().typed_search_attributes
        }

    # -- plumbing for updates -------------------------------------------------------------

    def _apply(self, transition: Callable[[Ticket, datetime], Effects]) -> TicketState:
        self._queue(transition(self._ticket, workflow.now()))
        return self._ticket.state

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
    def reply(self, reply: AgentReply) -> TicketState:
        """A public agent reply, emailed to the customer."""
        return self._apply(lambda t, now: t.reply(reply, now))

    @reply.validator
    def _validate_reply(self, reply: AgentReply) -> None:
        self._validate(lambda t: t.validate_reply())

    @workflow.update
    def note(self, note: AgentNote) -> TicketState:
        """An internal note: never emailed, never an SLA response."""
        return self._apply(lambda t, now: t.note(note, now))

    @note.validator
    def _validate_note(self, note: AgentNote) -> None:
        self._validate(lambda t: t.check(Action.NOTE))

    @workflow.update
    def request_info(self, request: RequestInfo) -> TicketState:
        """Ask the customer for information; waits in `awaiting_customer`."""
        return self._apply(lambda t, now: t.request_info(request, now))

    @request_info.validator
    def _validate_request_info(self, request: RequestInfo) -> None:
        self._validate(lambda t: t.check(Action.REQUEST_INFO))

    @workflow.update
    def assign(self, assign: Assign) -> TicketState:
        return self._apply(lambda t, now: t.assign(assign, now))

    @assign.validator
    def _validate_assign(self, assign: Assign) -> None:
        self._validate(lambda t: t.validate_assign(assign))

    @workflow.update
    def change_priority(self, change: ChangePriority) -> TicketState:
        """Re-apply the SLA policy for a new priority."""
        return self._apply(lambda t, now: t.change_priority(change, now))

    @change_priority.validator
    def _validate_change_priority(self, change: ChangePriority) -> None:
        self._validate(lambda t: t.validate_priority(change))

    @workflow.update
    def escalate(self, escalate: Escalate) -> TicketState:
        return self._apply(lambda t, now: t.escalate(escalate, now))

    @escalate.validator
    def _validate_escalate(self, escalate: Escalate) -> None:
        self._validate(lambda t: t.validate_escalate(escalate))

    @workflow.update
    def hold(self, hold: Hold) -> TicketState:
        return self._apply(lambda t, now: t.hold(hold, now))

    @hold.validator
    def _validate_hold(self, hold: Hold) -> None:
        self._validate(lambda t: t.check(Action.HOLD))

    @workflow.update
    def resolve(self, resolve: Resolve) -> TicketState:
        return self._apply(lambda t, now: t.resolve(resolve, now))

    @resolve.validator
    def _validate_resolve(self, resolve: Resolve) -> None:
        self._validate(lambda t: t.check(Action.RESOLVE))

    @workflow.update
    def reopen(self, reopen: Reopen) -> TicketState:
        return self._apply(lambda t, now: t.reopen(reopen, now))

    @reopen.validator
    def _validate_reopen(self, reopen: Reopen) -> None:
        self._validate(lambda t: t.check(Action.REOPEN))

    @workflow.update
    def close(self, close: Close) -> TicketState:
        return self._apply(lambda t, now: t.close(close, now))

    @close.validator
    def _validate_close(self, close: Close) -> None:
        self._validate(lambda t: t.check(Action.CLOSE))

    @workflow.update
    def customer_reply(self, reply: CustomerReply) -> TicketState:
        """The customer wrote: resumes waiting clocks, reopens a resolved ticket."""
        return self._apply(lambda t, now: t.customer_reply(reply, now))

    @customer_reply.validator
    def _validate_customer_reply(self, reply: CustomerReply) -> None:
        self._validate(lambda t: t.validate_customer_reply(workflow.now()))

    @workflow.update
    def rate(self, rate: Rate) -> TicketState:
        """The customer's satisfaction score; a low one owes a manager follow-up."""
        return self._apply(lambda t, now: t.rate(rate, now))

    @rate.validator
    def _validate_rate(self, rate: Rate) -> None:
        self._validate(lambda t: t.validate_rate(rate))

    # -- the main loop ---------------------------------------------------------------------

    @workflow.run
    async def run(self, input: TicketWorkflowInput) -> TicketState:
        while True:
            self._queue(self._ticket.tick(workflow.now()))
            await self._flush()
            self._publish()
            if self._ticket.finished(workflow.now()):
                await workflow.wait_condition(workflow.all_handlers_finished)
                if not self._has_work():
                    return self._ticket.state
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                if not self._has_work():
                    workflow.continue_as_new(
                        TicketWorkflowInput(started=input.started, carried=self._ticket.state)
                    )
            wakeup = self._ticket.next_wakeup()
            timeout = None
            if wakeup is not None:
                timeout = max((wakeup - workflow.now()).total_seconds(), 0.0)
            with contextlib.suppress(asyncio.TimeoutError):
                await workflow.wait_condition(
                    self._has_work, timeout=timeout, timeout_summary=self._wakeup_summary(wakeup)
                )

    def _wakeup_summary(self, due: datetime | None) -> str:
        """What the next timer is for, as operators read it on the timeline."""
        for metric, clock in self._ticket.state.clocks.items():
            if clock.due_at == due:
                return f"{metric.value.replace('_', ' ')} due"
        return f"{self._ticket.state.status.value} timer" if due else "waiting"

    def _has_work(self) -> bool:
        return bool(self._unrecorded or self._unsent or self._freed_teams)

    def _queue(self, effects: Effects) -> None:
        self._unrecorded += effects.events
        self._unsent += effects.notifications
        self._freed_teams += [t for t in effects.freed_teams if t not in self._freed_teams]

    async def _flush(self) -> None:
        """Record events and send notifications side by side (neither waits for the other),
        then move freed team queues; repeat until handlers add nothing more."""
        while self._has_work():
            events, self._unrecorded = self._unrecorded, []
            batch, self._unsent = self._unsent, []
            recording = (
                workflow.execute_activity_method(
                    ProjectionActivities.record_ticket,
                    ProjectionInput(state=self._ticket.state, events=events),
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=STORE_RETRY,
                    summary=f"record events {events[0].seq}-{events[-1].seq}",
                )
                if events
                else _done()
            )
            sending = [
                workflow.execute_activity_method(
                    EmailActivities.send_email,
                    n,
                    start_to_close_timeout=timedelta(seconds=60),
                    heartbeat_timeout=timedelta(seconds=10),
                    retry_policy=MAIL_RETRY,
                    summary=f"send {n.template.replace('_', ' ')}",
                )
                for n in batch
            ]
            _, results = await asyncio.gather(recording, asyncio.gather(*sending))
            # Sent emails are in the outbox (the timeline shows them from there); only a
            # permanent refusal becomes a ticket event.
            effects = Effects()
            for n, result in zip(batch, results, strict=True):
                if result.status == "failed":
                    self._ticket.note_notification(
                        effects, EventType.NOTIFICATION_FAILED, n, workflow.now(), result.error
                    )
            self._queue(effects)
            if self._freed_teams:
                # After recording, so the store already counts this ticket as resolved.
                teams, self._freed_teams = self._freed_teams, []
                for team in teams:
                    await workflow.execute_activity_method(
                        DispatchActivities.dispatch_queue,
                        team,
                        start_to_close_timeout=timedelta(seconds=60),
                        retry_policy=STORE_RETRY,
                        summary=f"dispatch {team} queue",
                    )

    def _publish(self) -> None:
        """Upsert the search attributes that changed; refresh the UI's current details."""
        updates = sa.updates_for(self._ticket.state, self._published)
        if updates:
            workflow.upsert_search_attributes(updates)
        if self._ticket.state.last_seq != self._details_seq:
            # Only on change: the table is recomputed from the clocks' calendars.
            self._details_seq = self._ticket.state.last_seq
            workflow.set_current_details(current_details(self._ticket.state, workflow.now()))
