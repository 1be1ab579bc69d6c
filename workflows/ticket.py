"""`TicketWorkflow`: one ticket, one workflow, workflow id = ticket id.

The workflow owns the ticket's state and every SLA clock. Transitions are the
pure functions of `domain.machine`; this class adds durability: it keeps one
timer for the nearest deadline, records each event in the store and sends
each notification through activities, and answers queries and updates.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.email import PERMANENT_SMTP_ERROR, EmailActivities
    from activities.projection import ProjectionActivities, ProjectionInput
    from domain.actions import AgentReply
    from domain.enums import EventType
    from domain.errors import DomainError
    from domain.machine import Effects, Ticket
    from domain.notifications import Notification
    from domain.sla import next_deadline
    from domain.ticket import TicketEvent, TicketStarted, TicketState
    from workflows import search_attributes as sa
    from workflows.details import current_details

STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)
MAIL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    non_retryable_error_types=[PERMANENT_SMTP_ERROR],
)


class TicketWorkflowInput(BaseModel):
    started: TicketStarted
    carried: TicketState | None = None
    """Set when continuing as new: the state to resume from."""
    unrecorded: list[TicketEvent] = []
    unsent: list[Notification] = []


def _refuse(err: DomainError) -> ApplicationError:
    """Validator refusals reach the API as this error type, with the domain message."""
    return ApplicationError(err.message, type=type(err).__name__, non_retryable=True)


@workflow.defn
class TicketWorkflow:
    @workflow.init
    def __init__(self, input: TicketWorkflowInput) -> None:
        self._unrecorded: list[TicketEvent] = list(input.unrecorded)
        self._unsent: list[Notification] = list(input.unsent)
        if input.carried is not None:
            self._ticket = Ticket(input.carried, input.started.mail_domain)
        else:
            self._ticket, effects = Ticket.create(input.started)
            self._queue(effects)
        # What the search attributes hold now (set at start by the API, then upserted).
        self._published: dict[str, object] = {
            pair.key.name: pair.value for pair in workflow.info().typed_search_attributes
        }

    # -- queries and updates ---------------------------------------------------------------

    @workflow.query
    def state(self) -> TicketState:
        """The whole ticket state; the API derives live clocks from it at its own now."""
        return self._ticket.state

    @workflow.update
    def reply(self, reply: AgentReply) -> TicketState:
        """A public agent reply, emailed to the customer."""
        self._queue(self._ticket.reply(reply, workflow.now()))
        return self._ticket.state

    @reply.validator
    def _validate_reply(self, reply: AgentReply) -> None:
        try:
            self._ticket.validate_reply(reply)
        except DomainError as err:
            raise _refuse(err) from err

    # -- the main loop ---------------------------------------------------------------------

    @workflow.run
    async def run(self, input: TicketWorkflowInput) -> TicketState:
        while True:
            self._queue(self._ticket.tick(workflow.now()))
            await self._flush()
            self._publish()
            if workflow.info().is_continue_as_new_suggested() and not self._has_work():
                await workflow.wait_condition(workflow.all_handlers_finished)
                if not self._has_work():
                    workflow.continue_as_new(
                        TicketWorkflowInput(started=input.started, carried=self._ticket.state)
                    )
            deadline = next_deadline(
                self._ticket.state.sla, list(self._ticket.state.clocks.values())
            )
            timeout = None
            if deadline is not None:
                timeout = max((deadline - workflow.now()).total_seconds(), 0.0)
            with contextlib.suppress(asyncio.TimeoutError):
                await workflow.wait_condition(
                    self._has_work, timeout=timeout, timeout_summary="next SLA deadline"
                )

    def _has_work(self) -> bool:
        return bool(self._unrecorded or self._unsent)

    def _queue(self, effects: Effects) -> None:
        self._unrecorded += effects.events
        self._unsent += effects.notifications

    async def _flush(self) -> None:
        """Record events, then send notifications; loops until handlers add nothing more."""
        while self._has_work():
            if self._unrecorded:
                events, self._unrecorded = self._unrecorded, []
                await workflow.execute_activity_method(
                    ProjectionActivities.record_ticket,
                    ProjectionInput(state=self._ticket.state, events=events),
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=STORE_RETRY,
                    summary=f"record events {events[0].seq}-{events[-1].seq}",
                )
            if self._unsent:
                batch, self._unsent = self._unsent, []
                results = await asyncio.gather(
                    *(
                        workflow.execute_activity_method(
                            EmailActivities.send_email,
                            n,
                            start_to_close_timeout=timedelta(seconds=60),
                            retry_policy=MAIL_RETRY,
                            summary=f"send {n.template.replace('_', ' ')}",
                        )
                        for n in batch
                    )
                )
                effects = Effects()
                for n, result in zip(batch, results, strict=True):
                    kind = (
                        EventType.NOTIFICATION_SENT
                        if result.status != "failed"
                        else EventType.NOTIFICATION_FAILED
                    )
                    self._ticket.note_notification(effects, kind, n, workflow.now(), result.error)
                self._queue(effects)

    def _publish(self) -> None:
        """Upsert the search attributes that changed; refresh the UI's current details."""
        updates = sa.updates_for(self._ticket.state, self._published)
        if updates:
            workflow.upsert_search_attributes(updates)
        workflow.set_current_details(current_details(self._ticket.state, workflow.now()))
