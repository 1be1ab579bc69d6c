"""What a ticket's decisions cause, drained beside the decision loop: `EffectDrains`.

Invariants:
- The decision loop never awaits an effect. An SMTP, store or dispatch outage delays only
  that effect; the ticket's next decision still happens at its due second.
- Events reach the store in `seq` order: one projection activity at a time, each with every
  event not yet recorded. A transient store error is retried until the store answers; a
  data error (`StoreDataError`) stops the projection until an operator repairs the cause
  and sends the `retry_effects` signal, and meanwhile shows on the ticket.
- The emails of one decision go out in one activity (each still claimed on its own, so
  exactly once), with a deadline (`Notification.send_by`); when it passes, or SMTP refuses
  an email for good, the ticket records `notification_failed` for it.
- A team's queue moves only once the store counts the event that freed the capacity.
- Whatever is pending or in flight is handed to continue-as-new (`pending()`): the next
  run sends and records it again, which the outbox claim and the projection's keys make
  harmless.

Deterministic workflow code: timers and activities only, no I/O, no clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from domain.ticket.change import Effects
from domain.ticket.notifications import Notification
from domain.ticket.state import TicketEvent, TicketState
from workflows.mail import MailSender, failure_message

# Activities and the store's row builders (pure, shared with the projection activity) are
# imported only to name the activity methods and build their inputs.
with workflow.unsafe.imports_passed_through():
    from activities.dispatch import DispatchActivities
    from activities.projection import STORE_DATA_ERROR, ProjectionActivities
    from store.rows import ProjectionInput, ticket_changes, ticket_facts

# No maximum: the projection is the ticket's timeline in the store, and a transient outage
# must end with the events recorded. Data errors are non-retryable instead.
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=[STORE_DATA_ERROR],
)
# Bounded by DISPATCH_DEADLINE: a queue that cannot move within it moves at the next freed slot.
DISPATCH_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)
DISPATCH_DEADLINE = timedelta(hours=1)


@dataclass(frozen=True)
class Pending:
    """What a run hands to the next one when it continues as new."""

    events: list[TicketEvent]
    notifications: list[Notification]
    teams: list[str]


class EffectDrains:
    """The ticket's effect queues and the tasks that drain them (see the module doc)."""

    def __init__(
        self,
        *,
        state: Callable[[], TicketState],
        email_failed: Callable[[Notification, str], None],
        settled: Callable[[], None],
        email_deadline: timedelta,
        carried: Pending,
        row_recorded: bool = False,
    ) -> None:
        """`carried`: what the previous run left pending, or a new ticket's first effects;
        `row_recorded`: the store already has the row as `state()` is now (intake wrote it)."""
        self._state = state
        self._settled = settled
        """Called when an effect finished (the details' pending line may change)."""
        self._unrecorded: list[TicketEvent] = list(carried.events)
        self._recording: list[TicketEvent] = []
        last = state().last_seq
        self._recorded_seq = carried.events[0].seq - 1 if carried.events else last
        self._recorded_row: dict[str, Any] | None = (
            ticket_changes(state()) if row_recorded else None
        )
        """The row's changing columns as last recorded (None: unknown, send them all)."""
        self.store_error: str | None = None
        self._mail = MailSender(
            email_failed=email_failed, settled=settled, deadline=email_deadline, spawn=self._spawn
        )
        self._freed: list[tuple[str, int]] = [(team, last) for team in carried.teams]
        """Teams whose queue may move, each once the event at that seq is recorded."""
        self._dispatching = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._unstarted: list[Notification] | None = list(carried.notifications)
        """Emails asked for before `start()` (at creation, or carried): sent by `start()`."""

    # -- queueing ------------------------------------------------------------------------

    def start(self) -> None:
        """Start the store and dispatch drains and send what the previous run left unsent."""
        self._spawn(self._record_loop())
        self._spawn(self._dispatch_loop())
        unstarted, self._unstarted = self._unstarted or [], None
        self._mail.send(unstarted)

    def queue(self, effects: Effects) -> None:
        self._unrecorded += effects.events
        if self._unstarted is not None:
            self._unstarted += effects.notifications
        else:
            self._mail.send(effects.notifications)
        seq = self._state().last_seq
        for team in effects.freed_teams:
            # A team already waiting (not yet in flight) moves once, after this event.
            first = 1 if self._dispatching else 0
            waiting = [i for i in range(first, len(self._freed)) if self._freed[i][0] == team]
            if waiting:
                self._freed[waiting[0]] = (team, seq)
            else:
                self._freed.append((team, seq))

    def retry_store(self) -> None:
        """An operator repaired what the store refused: record again."""
        self.store_error = None

    # -- what operators and continue-as-new see -------------------------------------------

    def idle(self) -> bool:
        return not (
            self._unrecorded
            or self._recording
            or self._mail.sending
            or self._freed
            or self._unstarted
        )

    def pending(self) -> Pending:
        return Pending(
            events=[*self._recording, *self._unrecorded],
            notifications=[*self._mail.sending, *(self._unstarted or [])],
            teams=[team for team, _ in self._freed],
        )

    def summary(self) -> str | None:
        """One line for the UI's details while something is pending or failing."""
        parts = []
        if waiting := len(self._recording) + len(self._unrecorded):
            parts.append(f"{waiting} event(s) waiting for the store")
        if self.store_error:
            parts.append(f"store refused the data ({self.store_error}); signal retry_effects")
        if self._mail.sending:
            parts.append(f"{len(self._mail.sending)} email(s) being sent")
        if self._freed:
            parts.append(f"queue dispatch pending for {', '.join(t for t, _ in self._freed)}")
        return "; ".join(parts) or None

    # -- the drains ----------------------------------------------------------------------

    def spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run an effect of the ticket's own beside the loop (kept until it finishes)."""
        self._spawn(coroutine)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _record_loop(self) -> None:
        while True:
            await workflow.wait_condition(
                lambda: bool(self._unrecorded) and self.store_error is None
            )
            batch, self._unrecorded = self._unrecorded, []
            self._recording = batch
            state = self._state()
            row = ticket_changes(state)
            recorded = self._recorded_row or {}
            projection = ProjectionInput(
                ticket_id=state.ticket_id,
                priority=state.priority,
                changes={k: v for k, v in row.items() if k not in recorded or recorded[k] != v},
                facts=ticket_facts(state) if batch[0].seq == 1 else None,
                events=batch,
            )
            try:
                await workflow.execute_activity_method(
                    ProjectionActivities.record_ticket,
                    projection,
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=STORE_RETRY,
                    summary=f"record events {batch[0].seq}-{batch[-1].seq}",
                )
            except ActivityError as err:
                self._unrecorded = batch + self._unrecorded
                self.store_error = failure_message(err)
                workflow.logger.error("the store refused events: %s", self.store_error)
            else:
                self._recorded_seq = batch[-1].seq
                self._recorded_row = row
            finally:
                self._recording = []
            self._settled()

    async def _dispatch_loop(self) -> None:
        while True:
            await workflow.wait_condition(
                lambda: bool(self._freed) and self._recorded_seq >= self._freed[0][1]
            )
            team = self._freed[0][0]
            self._dispatching = True
            try:
                await workflow.execute_activity_method(
                    DispatchActivities.dispatch_queue,
                    team,
                    start_to_close_timeout=timedelta(seconds=60),
                    schedule_to_close_timeout=DISPATCH_DEADLINE,
                    retry_policy=DISPATCH_RETRY,
                    summary=f"dispatch {team} queue",
                )
            except ActivityError as err:
                workflow.logger.warning("the %s queue did not move: %s", team, failure_message(err))
            finally:
                self._freed.pop(0)
                self._dispatching = False
            self._settled()
