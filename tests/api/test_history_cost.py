"""What a ticket costs in Temporal history: intake is one activity and two workflow tasks, no
payload repeats the ticket (a 60 KiB description is in history once), a recording carries
only the columns that changed, and a wake that leaves the next deadline alone keeps its timer.
Counted from the real history of tickets made through the API (time-skipping server)."""

from __future__ import annotations

import json
from typing import Any

from temporalio.api.enums.v1 import EventType as HistoryEvent
from temporalio.client import WorkflowHistory

from tests.api.conftest import Api
from tests.api.test_lifecycle import _act, _create
from tests.conftest import eventually
from tests.workflows.harness import store_events


async def _settled(api: Api, ticket_id: str) -> WorkflowHistory:
    """The history once every effect scheduled so far has completed."""
    handle = api.client.get_workflow_handle(ticket_id)
    history = await handle.fetch_history()

    async def quiet() -> bool:
        nonlocal history
        history = await handle.fetch_history()
        kinds = [e.event_type for e in history.events]
        scheduled = kinds.count(HistoryEvent.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
        done = kinds.count(HistoryEvent.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
        return scheduled == done and kinds[-1] == HistoryEvent.EVENT_TYPE_WORKFLOW_TASK_COMPLETED

    await eventually(quiet)
    return history


def _count(history: WorkflowHistory, kind: int) -> int:
    return sum(e.event_type == kind for e in history.events)


def _activities(history: WorkflowHistory) -> list[str]:
    return [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == HistoryEvent.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]


def _recordings(history: WorkflowHistory) -> list[dict[str, Any]]:
    """The decoded inputs of every `record_ticket` activity, in order."""
    inputs = []
    for e in history.events:
        attributes = e.activity_task_scheduled_event_attributes
        if attributes.activity_type.name == "record_ticket":
            [payload] = attributes.input.payloads
            inputs.append(json.loads(payload.data))
    return inputs


async def test_intake_is_one_activity_and_two_workflow_tasks(api: Api) -> None:
    ticket_id = await _create(api)
    await api.mailbox.wait_for(1)
    history = await _settled(api, ticket_id)
    assert _activities(history) == ["send_email"]  # the row and `created` came with intake
    assert _count(history, HistoryEvent.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) == 2
    [created] = await store_events(api.database_url, ticket_id)
    assert created.type == "created"


async def test_a_long_description_is_in_history_once(api: Api) -> None:
    marker = b"needle-7f3a"
    description = marker.decode() + " " + "lorem ipsum " * 5000  # about 60 KiB
    ticket_id = await _create(api, description=description)
    await api.mailbox.wait_for(1)
    for action, body in (
        ("reply", {"body": "On it"}),
        ("resolve", {"resolution": "Fixed"}),
        ("close", {}),
    ):
        await _settled(api, ticket_id)
        await _act(api, ticket_id, action, body)
    history = await _settled(api, ticket_id)
    raw = b"".join(event.SerializeToString() for event in history.events)
    assert raw.count(marker) == 1
    assert len(raw) < len(description) + 30_000  # the rest of the lifecycle is small


async def test_a_recording_carries_only_what_changed(api: Api) -> None:
    ticket_id = await _create(api)
    await api.mailbox.wait_for(1)
    await _settled(api, ticket_id)
    await _act(api, ticket_id, "note", {"body": "internal"})
    history = await _settled(api, ticket_id)
    [note] = _recordings(history)
    assert set(note["changes"]) == {"updated_at", "last_seq"}
    assert note["facts"] is None
    assert [e["type"] for e in note["events"]] == ["note"]


async def test_a_wake_that_leaves_the_deadline_alone_keeps_its_timer(api: Api) -> None:
    ticket_id = await _create(api)
    await api.mailbox.wait_for(1)
    before = await _settled(api, ticket_id)
    await _act(api, ticket_id, "note", {"body": "internal"})
    after = await _settled(api, ticket_id)
    for kind in (
        HistoryEvent.EVENT_TYPE_TIMER_STARTED,
        HistoryEvent.EVENT_TYPE_TIMER_CANCELED,
    ):
        assert _count(after, kind) == _count(before, kind)
