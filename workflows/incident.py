"""`IncidentWorkflow`: one major incident, workflow id `INC-000001`.

The incident's state and clocks are `domain.incident.aggregate.Incident`'s; this class adds
durability. Linking runs through the link activity inside the Update (so the tickets say
`incident_id` when it returns); each public update and the resolution are broadcast by a
drain beside the decision loop, batch by batch through activities, the progress kept in the
state: a crash resumes at the batch it was in, and each ticket applies each update id once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from domain.errors import DomainError
from domain.incident.actions import (
    Acknowledge,
    ApproveUpdate,
    LinkOutcome,
    LinkTickets,
    PostUpdate,
    ResolveIncident,
    SubmitReport,
    TicketOutcome,
    UnlinkTicket,
)
from domain.incident.aggregate import Incident
from domain.incident.clocks import summary as wakeup_summary
from domain.incident.state import IncidentState, IncidentWorkflowInput, PostedUpdate
from domain.incident.views import current_details
from domain.ticket.notifications import Notification
from workflows.incident_effects import IncidentDrains, fan_out
from workflows.mail import MailSender
from workflows.timer import WakeupTimer

with workflow.unsafe.imports_passed_through():
    from activities.incidents import IncidentActivities, LinkBatch

__all__ = ["IncidentWorkflow", "IncidentWorkflowInput"]

EMAIL_DEADLINE = timedelta(hours=24)


@workflow.defn
class IncidentWorkflow:
    @workflow.init
    def __init__(self, input: IncidentWorkflowInput) -> None:
        self._changed = False
        self._timer = WakeupTimer()
        self._tasks: set[asyncio.Task[None]] = set()
        mail_domain = input.started.mail_domain
        if input.carried is not None:
            self._incident = Incident(input.carried, mail_domain)
        else:
            self._incident = Incident.declare(input.started)
        self._drains = IncidentDrains(
            state=lambda: self._incident.state,
            delivered=self._delivered,
            changed=self._settled,
            unrecorded=list(input.unrecorded),
        )
        self._mail = MailSender(
            email_failed=self._email_failed,
            settled=self._settled,
            deadline=EMAIL_DEADLINE,
            spawn=self._spawn,
        )

    # -- plumbing --------------------------------------------------------------------------

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _settled(self) -> None:
        self._changed = True

    def _email_failed(self, notification: Notification, error: str) -> None:
        workflow.logger.warning("incident alert to staff not sent: %s", error)

    def _flush(self) -> None:
        effects = self._incident.take_effects()
        self._drains.record(effects.events)
        self._mail.send(effects.notifications)
        self._changed = True

    def _act(self, action: Callable[[Incident], Any]) -> Any:
        try:
            result = action(self._incident)
        except DomainError as err:
            raise ApplicationError(
                err.message, type=type(err).__name__, non_retryable=True
            ) from err
        self._flush()
        return result

    def _delivered(self, outcomes: list[TicketOutcome]) -> None:
        self._act(lambda i: i.delivered(outcomes, workflow.now()))

    def _idle(self) -> bool:
        return self._drains.idle() and not self._mail.sending

    def _validate(self, check: Callable[[Incident], None]) -> None:
        try:
            check(self._incident)
        except DomainError as err:
            raise ApplicationError(
                err.message, type=type(err).__name__, non_retryable=True
            ) from err

    # -- queries, updates, signals ---------------------------------------------------------

    @workflow.query
    def state(self) -> IncidentState:
        return self._incident.state

    @workflow.update
    def acknowledge(self, ack: Acknowledge) -> IncidentState:
        self._act(lambda i: i.acknowledge(ack, workflow.now()))
        return self._incident.state

    @acknowledge.validator
    def _validate_acknowledge(self, ack: Acknowledge) -> None:
        self._validate(lambda i: i.check_open("acknowledge"))

    @workflow.update
    async def link_tickets(self, link: LinkTickets) -> LinkOutcome:
        """Each ticket is linked by its own Update (refused if closed or in another
        incident); the ones that took it join the incident before this returns."""
        state = self._incident.state
        wanted = list(dict.fromkeys(link.ticket_ids))
        outcomes = [
            TicketOutcome(ticket_id=t, outcome="already", status=state.linked[t])
            for t in wanted
            if t in state.linked
        ]
        fresh = [t for t in wanted if t not in state.linked]
        size = state.terms.broadcast_batch
        for start in range(0, len(fresh), size):
            batch = LinkBatch(
                incident_id=state.incident_id,
                actor=link.actor,
                ticket_ids=fresh[start : start + size],
            )
            outcomes += await fan_out(
                IncidentActivities.link_tickets, batch, f"link {len(batch.ticket_ids)} tickets"
            )
        self._act(lambda i: i.linked(link.actor, outcomes, workflow.now()))
        return LinkOutcome(
            incident_id=state.incident_id,
            tickets=outcomes,
            linked_count=len(self._incident.state.linked),
        )

    @link_tickets.validator
    def _validate_link(self, link: LinkTickets) -> None:
        self._validate(lambda i: i.check_link(link))

    @workflow.update
    async def unlink_ticket(self, unlink: UnlinkTicket) -> IncidentState:
        if unlink.ticket_id in self._incident.state.linked:
            batch = LinkBatch(
                incident_id=self._incident.state.incident_id,
                actor=unlink.actor,
                ticket_ids=[unlink.ticket_id],
                unlink=True,
            )
            await fan_out(IncidentActivities.link_tickets, batch, "unlink a ticket")
            self._act(lambda i: i.unlink(unlink, workflow.now()))
        return self._incident.state

    @workflow.update
    def post_update(self, post: PostUpdate) -> PostedUpdate:
        """An internal note, or a public update: broadcast now, or once a manager approves."""
        result: PostedUpdate = self._act(lambda i: i.post_update(post, workflow.now()))
        return result

    @post_update.validator
    def _validate_post(self, post: PostUpdate) -> None:
        self._validate(lambda i: i.check_open("post an update"))

    @workflow.update
    def approve_update(self, approve: ApproveUpdate) -> PostedUpdate:
        result: PostedUpdate = self._act(lambda i: i.approve(approve, workflow.now()))
        return result

    @approve_update.validator
    def _validate_approve(self, approve: ApproveUpdate) -> None:
        self._validate(lambda i: i.check_approve(approve))

    @workflow.update
    def resolve(self, resolve: ResolveIncident) -> IncidentState:
        """Resolved: every still-open linked ticket is resolved with the resolution."""
        self._act(lambda i: i.resolve(resolve, workflow.now()))
        return self._incident.state

    @resolve.validator
    def _validate_resolve(self, resolve: ResolveIncident) -> None:
        self._validate(lambda i: i.check_open("resolve"))

    @workflow.update
    def submit_report(self, report: SubmitReport) -> IncidentState:
        self._act(lambda i: i.submit_report(report, workflow.now()))
        return self._incident.state

    @submit_report.validator
    def _validate_report(self, report: SubmitReport) -> None:
        self._validate(lambda i: i.check_report())

    @workflow.signal
    def ticket_left(self, ticket_id: str) -> None:
        """A linked ticket left by itself (reopened after the incident resolved it)."""
        unlink = UnlinkTicket(actor="system", ticket_id=ticket_id, reason="reopened")
        self._act(lambda i: i.unlink(unlink, workflow.now()))

    @workflow.signal
    def retry_effects(self) -> None:
        """Operators: the store refused the incident's data and the cause is repaired."""
        self._drains.retry_store()

    # -- the main loop ---------------------------------------------------------------------

    @workflow.run
    async def run(self, input: IncidentWorkflowInput) -> IncidentState:
        """Runs until resolved, reported, broadcast and recorded."""
        if input.carried is None:
            self._flush()
        self._drains.start(self._spawn)
        while True:
            now = workflow.now()
            self._incident.tick(now)
            self._flush()
            self._changed = False
            workflow.set_current_details(
                current_details(self._incident.state, pending=self._drains.pending())
            )
            if self._incident.finished():
                await workflow.wait_condition(
                    lambda: self._changed or (workflow.all_handlers_finished() and self._idle())
                )
                if self._changed:
                    continue
                return self._incident.state
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(
                    lambda: workflow.all_handlers_finished() and self._idle()
                )
                workflow.continue_as_new(
                    IncidentWorkflowInput(
                        started=input.started,
                        carried=self._incident.state,
                        unrecorded=self._drains.unrecorded(),
                    )
                )
            wakeup = self._incident.next_wakeup()
            if wakeup is not None and wakeup <= now:
                wakeup = None
            self._timer.arm(now, wakeup, wakeup_summary(self._incident.state, wakeup))
            await workflow.wait_condition(lambda: self._changed or self._timer.fired())
