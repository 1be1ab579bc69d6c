"""Where a ticket's time goes, read from the Temporal histories of sampled tickets.

For each workflow task and activity in a history: how long it waited in its
task queue (schedule-to-start) and how long the worker took (start-to-close).
A backlog shows as schedule-to-start; a slow worker or store as start-to-close.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

from bench.stats import percentile

WORKFLOW_TASK = "workflow task"
SAMPLE_SIZE = 50


@dataclass
class Phases:
    """Durations (seconds) per phase name, and how many histories they came from."""

    durations: dict[str, list[float]] = field(default_factory=dict)
    histories: int = 0

    def add(self, phase: str, seconds: float) -> None:
        self.durations.setdefault(phase, []).append(seconds)

    def summary(self) -> dict[str, dict[str, float]]:
        """Per phase: count, per_ticket, p50_ms, p90_ms, mean_ms (phases in first-seen order)."""
        return {
            phase: {
                "per_ticket": round(len(values) / max(self.histories, 1), 2),
                "count": len(values),
                "p50_ms": round(percentile(values, 50) * 1000, 1),
                "p90_ms": round(percentile(values, 90) * 1000, 1),
                "mean_ms": round(sum(values) / len(values) * 1000, 1),
            }
            for phase, values in self.durations.items()
        }


PHASES_HEADER = ("phase (from histories)", "n", "per ticket", "p50 ms", "p90 ms", "mean ms")


def phase_rows(summary: dict[str, dict[str, float]]) -> list[tuple[str, ...]]:
    """The rows of the phases table, from `Phases.summary()` (as stored in the JSON file)."""
    return [
        (
            phase,
            str(int(figures["count"])),
            f"{figures['per_ticket']:.1f}",
            f"{figures['p50_ms']:.0f}",
            f"{figures['p90_ms']:.0f}",
            f"{figures['mean_ms']:.0f}",
        )
        for phase, figures in summary.items()
    ]


def _seconds(event: HistoryEvent) -> float:
    return event.event_time.seconds + event.event_time.nanos / 1e9


def add_history(phases: Phases, events: Iterable[HistoryEvent]) -> None:
    """Add one history's queue waits and run times of workflow tasks and activities."""
    scheduled: dict[int, tuple[str, float]] = {}  # scheduled event id -> (phase, time)
    started: dict[int, tuple[str, float]] = {}  # started event id -> (phase, time)
    for event in events:
        at, kind = _seconds(event), event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            scheduled[event.event_id] = (WORKFLOW_TASK, at)
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            name = event.activity_task_scheduled_event_attributes.activity_type.name
            scheduled[event.event_id] = (f"activity {name}", at)
        elif kind in (
            EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
            EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
        ):
            attributes = (
                event.workflow_task_started_event_attributes
                if kind == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
                else event.activity_task_started_event_attributes
            )
            if (origin := scheduled.get(attributes.scheduled_event_id)) is not None:
                phase, queued_at = origin
                phases.add(f"{phase}: schedule-to-start", at - queued_at)
                started[event.event_id] = (phase, at)
        elif kind in (
            EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
            EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
        ):
            attributes_done = (
                event.workflow_task_completed_event_attributes
                if kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
                else event.activity_task_completed_event_attributes
            )
            if (begun := started.get(attributes_done.started_event_id)) is not None:
                phase, began_at = begun
                phases.add(f"{phase}: start-to-close", at - began_at)
    phases.histories += 1


def sample(ids: Sequence[str], size: int = SAMPLE_SIZE) -> list[str]:
    """Up to `size` ids spread evenly over `ids` (the first, the last, and between)."""
    if len(ids) <= size:
        return list(ids)
    step = (len(ids) - 1) / (size - 1)
    return [ids[round(i * step)] for i in range(size)]


async def ticket_phases(client: Client, ticket_ids: Sequence[str]) -> Phases:
    phases = Phases()
    histories = await asyncio.gather(
        *(client.get_workflow_handle(t).fetch_history() for t in sample(ticket_ids))
    )
    for history in histories:
        add_history(phases, history.events)
    return phases
