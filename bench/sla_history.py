"""When a breaching ticket's workflow acted, read from its Temporal history.

The workflow decides a breach in `tick(workflow.now())`, and `workflow.now()` is
the time of the workflow task's `WorkflowTaskStarted` event. So the task that
acts on a breach is the first one *started* at or after the clock's due time;
its `WorkflowTaskCompleted` is when the breach was decided and its activities
(store projection, emails) were scheduled. Around it the history also shows:

- the `TimerFired` that woke the workflow, and the `TimerStarted` behind it. The
  workflow computes a timer's duration from `workflow.now()`, the *start* of the
  task that sets it, but the server counts it from the `TimerStarted` event,
  written when that task *completes*: a timer fires late by the run of the task
  that set it, plus whatever the server adds after the expiry,
- the queue wait of that task (scheduled -> started) and its run on the worker
  (started -> completed), and whether it went to the worker's sticky queue
  (the workflow was still in the worker's cache) or the normal one (a replay),
- when the `record_ticket` activity scheduled by that task completed (the
  breach is in the store), and when `SlaBreached=true` was upserted (after all
  the breach's activities, emails included).

Times are seconds since the epoch (floats), as `HistoryEvent.event_time`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from temporalio.api.enums.v1 import EventType, TaskQueueKind
from temporalio.api.history.v1 import HistoryEvent

from bench.stats import percentile

RECORD_ACTIVITY = "record_ticket"
BREACHED_ATTRIBUTE = "SlaBreached"


@dataclass(frozen=True)
class BreachTiming:
    """The events around one breach; every field but `due_at` is an event time."""

    ticket_id: str
    due_at: float
    task_scheduled: float
    task_started: float
    task_completed: float
    sticky: bool
    timer_fired: float | None = None
    timer_set_from: float | None = None
    """`workflow.now()` of the task that set the timer: its duration counts from here"""
    timer_set_at: float | None = None
    """the `TimerStarted` event: the server counts the duration from here"""
    timer_duration: float | None = None
    recorded: float | None = None
    upserted: float | None = None
    decided: float | None = None
    """the workflow task whose commands upserted `SlaBreached=true` completed"""
    alerted: float | None = None
    """the SMTP sink received the breach's first alert (set by `bench.sla_alerts`)"""
    work: tuple[tuple[str, int], ...] = ()
    """What the breach cost, from the acting task to the upsert: activities scheduled by
    type and workflow tasks completed (`workflow task`), sorted by name"""

    @property
    def lateness(self) -> float:
        """Due time -> the workflow task that decided the breach completed."""
        return self.task_completed - self.due_at

    def stages(self) -> dict[str, float | None]:
        """Each stage's seconds (None when the history lacks the event)."""

        def since(end: float | None, start: float | None) -> float | None:
            return None if end is None or start is None else end - start

        woke = self.timer_fired if self.timer_fired is not None else self.task_scheduled
        expiry = None
        if self.timer_set_at is not None and self.timer_duration is not None:
            expiry = self.timer_set_at + self.timer_duration
        return {
            "decided": since(self.decided, self.due_at),
            "acted": self.lateness,
            "timer_fired": since(self.timer_fired, self.due_at),
            "timer_set_late": since(self.timer_set_at, self.timer_set_from),
            "timer_server_delay": since(self.timer_fired, expiry),
            "fired_to_scheduled": since(self.task_scheduled, woke),
            "queue_wait": self.task_started - self.task_scheduled,
            "worker": self.task_completed - self.task_started,
            "recorded": since(self.recorded, self.due_at),
            "upserted": since(self.upserted, self.due_at),
            "alerted": since(self.alerted, self.due_at),
        }


STAGE_NAMES = {
    "decided": "breach decided (task upserting SlaBreached)",
    "acted": "breach acted on (task completed)",
    "timer_fired": "  timer fired",
    "timer_set_late": "    timer set late by its task's run",
    "timer_server_delay": "    server fired it after expiry",
    "fired_to_scheduled": "  fired -> task scheduled",
    "queue_wait": "  task queue wait",
    "worker": "  task on the worker",
    "recorded": "breach in the store (record_ticket)",
    "upserted": "SlaBreached=true upserted",
    "alerted": "first breach alert in the SMTP sink",
}
"""Printed names; those indented once add up to "acted", twice to "timer fired"."""


def event_seconds(event: HistoryEvent) -> float:
    return event.event_time.seconds + event.event_time.nanos / 1e9


def _sets_breached(event: HistoryEvent) -> bool:
    attributes = event.upsert_workflow_search_attributes_event_attributes
    payload = attributes.search_attributes.indexed_fields.get(BREACHED_ATTRIBUTE)
    return payload is not None and payload.data.strip() == b"true"


def breach_timing(
    ticket_id: str, events: Iterable[HistoryEvent], due_at: float
) -> BreachTiming | None:
    """The timing of the breach due at `due_at`, or None if no task started after it completed."""
    scheduled: dict[int, tuple[float, bool]] = {}  # event id -> (time, sticky)
    started: dict[int, tuple[float, int]] = {}  # event id -> (time, scheduled event id)
    task_began: dict[int, float] = {}  # completed event id -> its task's started time
    completed_at: dict[int, float] = {}  # workflow task completed event id -> its time
    timers: dict[int, tuple[float, float, int]] = {}  # started id -> (time, duration, by task)
    fired: dict[str, float] = {}  # the last timer fired since the last task
    acting: BreachTiming | None = None
    acting_completed = -1
    record_scheduled: int | None = None
    found: dict[str, float] = {}
    work: Counter[str] = Counter()
    for event in events:
        if acting is not None and "upserted" not in found:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                work["workflow task"] += 1
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                work[event.activity_task_scheduled_event_attributes.activity_type.name] += 1
        at, kind = event_seconds(event), event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            queue = event.workflow_task_scheduled_event_attributes.task_queue
            scheduled[event.event_id] = (at, queue.kind == TaskQueueKind.TASK_QUEUE_KIND_STICKY)
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            origin = event.workflow_task_started_event_attributes.scheduled_event_id
            started[event.event_id] = (at, origin)
        elif kind == EventType.EVENT_TYPE_TIMER_STARTED:
            timer = event.timer_started_event_attributes
            duration = timer.start_to_fire_timeout.ToTimedelta().total_seconds()
            timers[event.event_id] = (at, duration, timer.workflow_task_completed_event_id)
        elif kind == EventType.EVENT_TYPE_TIMER_FIRED:
            fired = {"timer_fired": at}
            if (
                timer_of := timers.get(event.timer_fired_event_attributes.started_event_id)
            ) is not None:
                set_at, duration, by_task = timer_of
                fired |= {"timer_set_at": set_at, "timer_duration": duration}
                if by_task in task_began:
                    fired["timer_set_from"] = task_began[by_task]
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            begun = started.get(event.workflow_task_completed_event_attributes.started_event_id)
            completed_at[event.event_id] = at
            if begun is not None:
                task_began[event.event_id] = begun[0]
            if acting is None and begun is not None and begun[0] >= due_at:
                queued_at, sticky = scheduled.get(begun[1], (begun[0], False))
                acting = BreachTiming(
                    ticket_id=ticket_id,
                    due_at=due_at,
                    task_scheduled=queued_at,
                    task_started=begun[0],
                    task_completed=at,
                    sticky=sticky,
                    timer_fired=fired.get("timer_fired"),
                    timer_set_from=fired.get("timer_set_from"),
                    timer_set_at=fired.get("timer_set_at"),
                    timer_duration=fired.get("timer_duration"),
                )
                acting_completed = event.event_id
                work["workflow task"] += 1
            fired = {}
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED and acting is not None:
            attributes = event.activity_task_scheduled_event_attributes
            if (
                record_scheduled is None
                and attributes.activity_type.name == RECORD_ACTIVITY
                and attributes.workflow_task_completed_event_id == acting_completed
            ):
                record_scheduled = event.event_id
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            attributes_done = event.activity_task_completed_event_attributes
            if (
                record_scheduled is not None
                and attributes_done.scheduled_event_id == record_scheduled
            ):
                found.setdefault("recorded", at)
        elif (
            kind == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
            and acting is not None
            and _sets_breached(event)
        ):
            found.setdefault("upserted", at)
            upsert = event.upsert_workflow_search_attributes_event_attributes
            decided_by = upsert.workflow_task_completed_event_id
            found.setdefault("decided", completed_at.get(decided_by, at))
    if acting is None:
        return None
    return replace(
        acting,
        recorded=found.get("recorded"),
        upserted=found.get("upserted"),
        decided=found.get("decided"),
        work=tuple(sorted(work.items())),
    )


def work_per_breach(timings: Sequence[BreachTiming]) -> dict[str, float]:
    """Mean activities (by type) and workflow tasks per breach, acting task to upsert."""
    totals: Counter[str] = Counter()
    for timing in timings:
        totals.update(dict(timing.work))
    return {name: round(count / len(timings), 2) for name, count in sorted(totals.items())}


def stage_summary(timings: Sequence[BreachTiming]) -> dict[str, dict[str, Any]]:
    """Per stage: count, p50/p99/max in ms (stages no history had are left out)."""
    summary: dict[str, dict[str, Any]] = {}
    for stage in STAGE_NAMES:
        values = [v for t in timings if (v := t.stages()[stage]) is not None]
        if values:
            summary[stage] = {
                "count": len(values),
                "p50_ms": round(percentile(values, 50) * 1000, 1),
                "p99_ms": round(percentile(values, 99) * 1000, 1),
                "max_ms": round(max(values) * 1000, 1),
            }
    return summary


STAGES_HEADER = ("breach lateness after the due second", "n", "p50 ms", "p99 ms", "max ms")


def stage_rows(summary: dict[str, dict[str, Any]]) -> list[tuple[str, ...]]:
    return [
        (
            STAGE_NAMES.get(stage, stage),
            str(figures["count"]),
            f"{figures['p50_ms']:.0f}",
            f"{figures['p99_ms']:.0f}",
            f"{figures['max_ms']:.0f}",
        )
        for stage, figures in summary.items()
    ]
