"""What an incident's decisions cause, drained beside its decision loop: `IncidentDrains`
(recording it in the store, its broadcasts batch by batch) and `fan_out`, one activity
over a batch of tickets.

Invariants: a broadcast's progress is the incident's state (`Broadcast.done`), advanced only
when a batch's activity returned, so a crash resumes at the batch it was in; a batch that
cannot reach its tickets within `FAN_OUT_DEADLINE` is given up (each ticket `refused`).
Events reach the store in `seq` order; a data error stops the recording until an operator
sends `retry_effects`. Deterministic workflow code: activities only, no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from domain.incident.actions import TicketOutcome
from domain.incident.state import IncidentEvent, IncidentState
from domain.incident.views import incident_row
from workflows.mail import failure_message

with workflow.unsafe.imports_passed_through():
    from activities.incidents import (
        STORE_DATA_ERROR,
        DeliveryBatch,
        IncidentActivities,
        IncidentProjection,
    )

STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=[STORE_DATA_ERROR],
)
FAN_OUT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
FAN_OUT_DEADLINE = timedelta(hours=6)
"""A batch that cannot reach its tickets within this is given up (recorded as refused)."""
FAN_OUT_HEARTBEAT = timedelta(seconds=10)
"""A worker killed mid-batch is noticed within this; the retry skips the tickets done."""


async def fan_out(method: Any, batch: Any, summary: str) -> list[TicketOutcome]:
    """One fan-out activity over `batch.ticket_ids`: each ticket's outcome."""
    try:
        result: list[TicketOutcome] = await workflow.execute_activity_method(
            method,
            batch,
            start_to_close_timeout=timedelta(minutes=10),
            schedule_to_close_timeout=FAN_OUT_DEADLINE,
            heartbeat_timeout=FAN_OUT_HEARTBEAT,
            retry_policy=FAN_OUT_RETRY,
            summary=summary,
        )
    except ActivityError as err:
        reason = failure_message(err)
        workflow.logger.error("incident fan-out gave up: %s", reason)
        return [
            TicketOutcome(ticket_id=t, outcome="refused", reason=reason) for t in batch.ticket_ids
        ]
    return result


class IncidentDrains:
    def __init__(
        self,
        *,
        state: Callable[[], IncidentState],
        delivered: Callable[[list[TicketOutcome]], None],
        changed: Callable[[], None],
        unrecorded: list[IncidentEvent],
    ) -> None:
        self._state = state
        self._delivered = delivered
        self._changed = changed
        self._unrecorded = unrecorded
        self._recording: list[IncidentEvent] = []
        self._delivering = False
        self.store_error: str | None = None

    def start(self, spawn: Callable[[Coroutine[Any, Any, None]], None]) -> None:
        spawn(self._record_loop())
        spawn(self._broadcast_loop())

    def record(self, events: list[IncidentEvent]) -> None:
        self._unrecorded += events

    def retry_store(self) -> None:
        self.store_error = None
        self._changed()

    def unrecorded(self) -> list[IncidentEvent]:
        """What continue-as-new carries (recorded again harmlessly: the keys are stable)."""
        return [*self._recording, *self._unrecorded]

    def idle(self) -> bool:
        return not (self._unrecorded or self._recording or self._delivering)

    def pending(self) -> str | None:
        parts = []
        if self._unrecorded or self._recording:
            parts.append("events waiting for the store")
        if self.store_error:
            parts.append(f"store refused the data ({self.store_error}); signal retry_effects")
        if self._state().broadcasts:
            b = self._state().broadcasts[0]
            parts.append(f"{b.update_id} delivered to {b.done} of {len(b.ticket_ids)}")
        return "; ".join(parts) or None

    async def _broadcast_loop(self) -> None:
        while True:
            await workflow.wait_condition(lambda: bool(self._state().broadcasts))
            state = self._state()
            broadcast = state.broadcasts[0]
            size = state.terms.broadcast_batch
            ids = broadcast.ticket_ids[broadcast.done : broadcast.done + size]
            batch = DeliveryBatch(
                incident_id=state.incident_id,
                update_id=broadcast.update_id,
                kind=broadcast.kind,
                body=broadcast.body,
                incident_status=broadcast.incident_status.value,
                ticket_ids=ids,
            )
            self._delivering = True
            first = broadcast.done + 1
            outcomes = await fan_out(
                IncidentActivities.deliver,
                batch,
                f"{broadcast.update_id} to tickets {first}-{first + len(ids) - 1}",
            )
            self._delivering = False
            self._delivered(outcomes)

    async def _record_loop(self) -> None:
        while True:
            await workflow.wait_condition(
                lambda: bool(self._unrecorded) and self.store_error is None
            )
            batch, self._unrecorded = self._unrecorded, []
            self._recording = batch
            projection = IncidentProjection(
                incident_id=self._state().incident_id,
                row=incident_row(self._state()),
                events=batch,
            )
            try:
                await workflow.execute_activity_method(
                    IncidentActivities.record_incident,
                    projection,
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=STORE_RETRY,
                    summary=f"record events {batch[0].seq}-{batch[-1].seq}",
                )
            except ActivityError as err:
                self._unrecorded = batch + self._unrecorded
                self.store_error = failure_message(err)
                workflow.logger.error("the store refused incident events: %s", self.store_error)
            finally:
                self._recording = []
            self._changed()
