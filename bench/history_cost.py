"""What a workflow's history costs the server: events, tasks, and payload bytes.

- *events*: every event of the history.
- *server tasks*: workflow tasks handed to a worker (`WorkflowTaskStarted`) plus activity
  tasks (each `ActivityTaskStarted` counts its attempts: a retried activity is recorded
  once, with the attempt that finished).
- *payload bytes*: every `temporal.api.common.v1.Payload` anywhere in any event (inputs,
  results, Update requests and responses, search attributes, headers, memo, failures'
  details), decoded by the client's payload codec when there is one, summed by `len(data)`.
  `marker_copies` counts how many times a given byte string (a unique marker written into a
  ticket's description) occurs in those decoded payloads: how often the description was
  copied into history.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.converter import PayloadCodec

PAYLOAD = Payload.DESCRIPTOR.full_name


def payloads_in(message: Message) -> Iterator[Payload]:
    """Every Payload in `message`, depth first, including those in maps and repeated fields."""
    for descriptor, value in message.ListFields():
        if descriptor.message_type is None:
            continue
        if descriptor.message_type.GetOptions().map_entry:
            values: Iterable[Any] = value.values()
            if descriptor.message_type.fields_by_name["value"].message_type is None:
                continue
        elif descriptor.is_repeated:
            values = value
        else:
            values = [value]
        for item in values:
            if item.DESCRIPTOR.full_name == PAYLOAD:
                yield item
            else:
                yield from payloads_in(item)


def event_name(event: HistoryEvent) -> str:
    """`ActivityTaskScheduled` for `EVENT_TYPE_ACTIVITY_TASK_SCHEDULED`."""
    words = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").split("_")
    return "".join(word.capitalize() for word in words)


@dataclass
class HistoryCost:
    events: int = 0
    workflow_tasks: int = 0
    activity_tasks: int = 0
    payloads: int = 0
    payload_bytes: int = 0
    bytes_by_event: dict[str, int] = field(default_factory=dict)
    marker_copies: int = 0

    @property
    def server_tasks(self) -> int:
        return self.workflow_tasks + self.activity_tasks

    def summary(self) -> dict[str, Any]:
        ranked = sorted(self.bytes_by_event.items(), key=lambda kv: (-kv[1], kv[0]))
        return {
            "history_events": self.events,
            "server_tasks": self.server_tasks,
            "workflow_tasks": self.workflow_tasks,
            "activity_tasks": self.activity_tasks,
            "payloads": self.payloads,
            "payload_bytes": self.payload_bytes,
            "payload_bytes_by_event": dict(ranked),
            "marker_copies": self.marker_copies,
        }


async def history_cost(
    events: Iterable[HistoryEvent], codec: PayloadCodec | None = None, marker: bytes = b""
) -> HistoryCost:
    cost, per_event, everything = HistoryCost(), Counter[str](), []
    for event in events:
        cost.events += 1
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            cost.workflow_tasks += 1
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            cost.activity_tasks += max(1, event.activity_task_started_event_attributes.attempt)
        found = list(payloads_in(event))
        if codec is not None and found:
            found = await codec.decode(found)
        for payload in found:
            per_event[event_name(event)] += len(payload.data)
        everything += found
    cost.payloads = len(everything)
    cost.payload_bytes = sum(len(p.data) for p in everything)
    cost.bytes_by_event = dict(per_event)
    if marker:
        cost.marker_copies = sum(p.data.count(marker) for p in everything)
    return cost
