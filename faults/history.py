"""What a ticket's Temporal history says: when a breach was applied, which timers fired,
which emails the workflow asked for.

Times are seconds since the epoch (floats), from `HistoryEvent.event_time`.
A breach is *applied* when the workflow upserts `SlaBreached=true`: that command is
written when the workflow task that decided the breach completes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

from workflows.search_attributes import SLA_BREACHED


def event_seconds(event: HistoryEvent) -> float:
    return event.event_time.seconds + event.event_time.nanos / 1e9


async def history(client: Client, ticket_id: str) -> list[HistoryEvent]:
    """The events of the ticket's current run."""
    fetched = await client.get_workflow_handle(ticket_id).fetch_history()
    return list(fetched.events)


def breach_applied_at(events: list[HistoryEvent]) -> float | None:
    """When `SlaBreached=true` was first upserted (None: never)."""
    for event in events:
        if event.event_type != EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            continue
        fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes
        payload = fields.indexed_fields.get(SLA_BREACHED.name)
        if payload is not None and payload.data.strip() == b"true":
            return event_seconds(event)
    return None


@dataclass(frozen=True)
class Timer:
    started_at: float
    duration: float
    fired_at: float | None
    canceled_at: float | None

    @property
    def expires_at(self) -> float:
        """When the server should fire it (it counts from the TimerStarted event)."""
        return self.started_at + self.duration

    def running_at(self, instant: float) -> bool:
        """Started before `instant` and neither fired nor canceled by then."""
        ended = self.fired_at if self.fired_at is not None else self.canceled_at
        return self.started_at < instant and (ended is None or ended > instant)


def timers(events: list[HistoryEvent]) -> list[Timer]:
    started: dict[int, tuple[float, float]] = {}
    ended: dict[int, tuple[float | None, float | None]] = {}  # started id -> (fired, canceled)
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
            attributes = event.timer_started_event_attributes
            duration = attributes.start_to_fire_timeout.ToTimedelta().total_seconds()
            started[event.event_id] = (event_seconds(event), duration)
        elif event.event_type == EventType.EVENT_TYPE_TIMER_FIRED:
            origin = event.timer_fired_event_attributes.started_event_id
            ended[origin] = (event_seconds(event), None)
        elif event.event_type == EventType.EVENT_TYPE_TIMER_CANCELED:
            origin = event.timer_canceled_event_attributes.started_event_id
            ended[origin] = (None, event_seconds(event))
    return [
        Timer(at, duration, *ended.get(event_id, (None, None)))
        for event_id, (at, duration) in sorted(started.items())
    ]


def requested_message_ids(events: list[HistoryEvent]) -> set[str]:
    """Message-IDs of every email the workflow scheduled an activity for.

    Read from the activity inputs as JSON (the pydantic converter's encoding), so it
    does not depend on the activity's name or the model's other fields.
    """
    found: set[str] = set()
    for event in events:
        if event.event_type != EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            continue
        for payload in event.activity_task_scheduled_event_attributes.input.payloads:
            try:
                value = json.loads(payload.data)
            except ValueError:
                continue
            if isinstance(value, dict) and isinstance(value.get("message_id"), str):
                found.add(value["message_id"])
    return found
