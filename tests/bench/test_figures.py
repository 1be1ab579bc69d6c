"""The arithmetic behind issue 10's figures: history cost, CPU per ticket, profiles, wakeups,
the printed lines. No stack is started and no timing is asserted."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.enums.v1 import EventType, TaskQueueKind
from temporalio.api.history.v1 import (
    ActivityTaskScheduledEventAttributes,
    ActivityTaskStartedEventAttributes,
    HistoryEvent,
    TimerFiredEventAttributes,
    UpsertWorkflowSearchAttributesEventAttributes,
    WorkflowExecutionStartedEventAttributes,
    WorkflowTaskCompletedEventAttributes,
    WorkflowTaskScheduledEventAttributes,
    WorkflowTaskStartedEventAttributes,
)
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.converter import PayloadCodec

from bench.anchor_activities import ticket_row
from bench.anchors import AnchorIntake
from bench.cpu import CpuMeter, CpuSpan
from bench.history_cost import event_name, history_cost, payloads_in
from bench.lifecycle import LARGE_BYTES, large_description, lifecycle_headline
from bench.load import BenchError
from bench.memory import memory_steps, wake_summary, wakeups
from bench.memory_report import memory_headline
from bench.profile import frame_key, short_file, summarise
from bench.report import cpu_rows, intake_headline
from bench.stack import clean_env
from runtime.settings import REPO_ROOT, Settings
from worker import _exit_code, child_env

E = EventType


def _at(seconds: float) -> Timestamp:
    return Timestamp(seconds=int(seconds), nanos=round((seconds - int(seconds)) * 1e9))


def _json(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=text.encode())


# -- history cost ------------------------------------------------------------------------------


def _lifecycle_like() -> list[HistoryEvent]:
    started = WorkflowExecutionStartedEventAttributes(input=Payloads(payloads=[_json('"abc"')]))
    started.search_attributes.indexed_fields["TicketStatus"].CopyFrom(_json('"new"'))
    scheduled = ActivityTaskScheduledEventAttributes(
        input=Payloads(payloads=[_json('{"d": "MARK MARK"}'), _json("1")])
    )
    upsert = UpsertWorkflowSearchAttributesEventAttributes()
    upsert.search_attributes.indexed_fields["SlaBreached"].CopyFrom(_json("true"))
    return [
        HistoryEvent(event_id=1, event_type=E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
                     workflow_execution_started_event_attributes=started),
        HistoryEvent(event_id=2, event_type=E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED),
        HistoryEvent(event_id=3, event_type=E.EVENT_TYPE_WORKFLOW_TASK_STARTED),
        HistoryEvent(event_id=4, event_type=E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
        HistoryEvent(event_id=5, event_type=E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
                     activity_task_scheduled_event_attributes=scheduled),
        HistoryEvent(event_id=6, event_type=E.EVENT_TYPE_ACTIVITY_TASK_STARTED,
                     activity_task_started_event_attributes=ActivityTaskStartedEventAttributes(
                         scheduled_event_id=5, attempt=3)),
        HistoryEvent(event_id=7, event_type=E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
                     upsert_workflow_search_attributes_event_attributes=upsert),
    ]  # fmt: skip


async def test_history_cost_counts_events_tasks_and_every_payload() -> None:
    events = _lifecycle_like()
    assert [p.data for p in payloads_in(events[0])] == [b'"abc"', b'"new"']
    assert event_name(events[4]) == "ActivityTaskScheduled"

    cost = await history_cost(events, marker=b"MARK")

    assert cost.events == 7
    assert (cost.workflow_tasks, cost.activity_tasks, cost.server_tasks) == (1, 3, 4)
    assert cost.payloads == 5
    assert cost.payload_bytes == len(b'"abc""new"{"d": "MARK MARK"}1true')
    assert cost.bytes_by_event == {
        "WorkflowExecutionStarted": 10,
        "ActivityTaskScheduled": 19,
        "UpsertWorkflowSearchAttributes": 4,
    }
    assert cost.marker_copies == 2
    summary = cost.summary()
    assert next(iter(summary["payload_bytes_by_event"])) == "ActivityTaskScheduled"


class Doubling(PayloadCodec):
    """Encoded payloads hold their data twice; decoding halves them (a stand-in codec)."""

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [Payload(metadata=p.metadata, data=p.data * 2) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [Payload(metadata=p.metadata, data=p.data[: len(p.data) // 2]) for p in payloads]


async def test_payload_bytes_are_counted_decoded() -> None:
    plain = await history_cost(_lifecycle_like())
    encoded = _lifecycle_like()
    for event in encoded:
        for payload in payloads_in(event):
            payload.data = payload.data * 2
    decoded = await history_cost(encoded, Doubling())
    assert decoded.payload_bytes == plain.payload_bytes


def test_a_large_description_has_its_size_and_starts_with_the_marker() -> None:
    text = large_description("MARK-x")
    assert len(text.encode()) == LARGE_BYTES
    assert text.startswith("MARK-x ")
    assert text.count("MARK-x") == 1


def test_the_lifecycle_lines_name_each_figure_and_goal() -> None:
    figures = {"history_events": 59, "server_tasks": 16, "workflow_tasks": 9,
               "activity_tasks": 7, "payloads": 38, "payload_bytes": 28_900,
               "description_bytes": 61_440, "marker_copies": 12}  # fmt: skip
    result = {
        "one_line": figures | {"marker_copies": 0, "cpu_ms": {"worker": 150.0, "temporal": 90.0}},
        "large": figures | {"payload_bytes": 900_000},
        "events_goal_at_most": 40,
        "events_verdict": "NOT met",
        "payload_goal_at_most": 12_000,
        "payload_verdict": "NOT met",
        "large_copies_verdict": "NOT met",
    }
    lines = lifecycle_headline(result)
    assert lines[0].startswith("history events per lifecycle: 59  (")
    assert lines[0].endswith("goal <= 40: NOT met)")
    assert lines[1] == "history events per lifecycle, 60 KiB description: 59"
    assert lines[2] == "server tasks per lifecycle: 16  (9 workflow + 7 activity tasks)"
    assert lines[4] == "cpu ms per lifecycle (one ticket, an estimate): worker 150, temporal 90"
    assert lines[5].startswith("payload bytes per lifecycle: 28900  (38 payloads")
    assert lines[6].startswith("payload bytes per lifecycle, 60 KiB description: 900000  (")
    assert "appears 12 times" in lines[6]


# -- CPU ---------------------------------------------------------------------------------------


def test_cpu_per_ticket_takes_the_idle_rate_off() -> None:
    meter = CpuMeter({"worker": 1, "temporal": 2}, idle={"worker": 0.01, "temporal": 0.02})
    span = CpuSpan(used={"worker": 2.1, "temporal": 1.2}, wall=10.0)
    assert span.net("worker", 0.01) == pytest.approx(2.0)
    assert span.net("api", 0.0) is None
    assert meter.per_ticket_ms(span, 100) == {"worker": 20.0, "temporal": 10.0}
    # A process that used less than its idle rate cost the batch nothing (never below zero).
    assert CpuSpan(used={"worker": 0.05}, wall=10.0).net("worker", 0.01) == 0.0
    assert CpuMeter.span((0.0, {"worker": 1.0}), (2.0, {"worker": 1.5, "api": 9.0})) == CpuSpan(
        used={"worker": 0.5}, wall=2.0
    )


def _batch(rate: float, cpu: dict[str, float]) -> dict[str, object]:
    return {"count": 500, "concurrency": 32, "elapsed_s": 500 / rate, "rate_per_s": rate,
            "p50_ms": 1.0, "p99_ms": 2.0, "cpu_ms_per_ticket": cpu}  # fmt: skip


def test_the_intake_lines_and_cpu_table() -> None:
    intake = {
        "bare_start": _batch(80.0, {"yardstick": 2.0, "temporal": 8.0}),
        "shape_anchor": _batch(10.0, {"yardstick": 10.0, "temporal": 20.0}),
        "minimal_anchor": _batch(9.0, {"yardstick": 29.0, "temporal": 21.0, "smtp-sink": 3.0}),
        "acknowledged": _batch(7.0, {"worker": 105.0, "temporal": 40.0, "api": 12.0}),
        "ratio_vs_shape": 0.7, "ratio_vs_shape_goal_at_least": 1.5,
        "ratio_vs_shape_verdict": "NOT met", "ratio_vs_bare": 0.0875, "minimal_vs_shape": 0.9,
        "worker_cpu_ms_per_ticket": 105.0, "minimal_worker_cpu_ms_per_ticket": 29.0,
        "worker_cpu_vs_minimal": 3.62, "worker_cpu_vs_minimal_goal_at_most": 2.0,
        "worker_cpu_vs_minimal_verdict": "NOT met",
        "scale": {"processes": 2, "acknowledged": _batch(8.0, {"worker": 60.0, "worker+1": 55.0,
                                                                 "temporal": 41.0}),
                  "rate_vs_one_process": 1.14, "ratio_vs_shape": 0.8,
                  "worker_cpu_ms_per_ticket": 115.0, "worker_cpu_vs_one_process": 1.1,
                  "server_cpu_ms_per_ticket": 41.0},
    }  # fmt: skip
    lines = intake_headline(intake)
    assert lines[0].startswith("intake ratio vs shape: 0.70  (")
    assert lines[0].endswith("goal >= 1.5: NOT met)")
    assert lines[2].startswith("worker cpu ms per ticket vs minimal: 3.62  (ours 105.0 ms, ")
    assert lines[3] == (
        "server cpu ms per ticket: bare start 8.0, shape anchor 20.0, minimal anchor 21.0, "
        "ours 40.0"
    )
    assert lines[4].startswith("2 worker processes: 8.0 tickets acknowledged/s, 1.14 x one")
    rows = cpu_rows(intake)
    assert rows[2] == ("minimal anchor", "29.0", "21.0", "-", "3.0")
    assert rows[-1] == ("ours, 2 worker processes", "115.0", "41.0", "-", "-")


def test_the_minimal_anchor_row_fits_the_tickets_table() -> None:
    intake = AnchorIntake(ticket_id="ANC-x-M000001", requester_email="a@example.com",
                          requester_name="A", plan="starter", subject="s", description="d",
                          channel="api", priority="P2", minimal=True)  # fmt: skip
    from datetime import UTC, datetime

    from store.models import Base

    row = ticket_row(intake, datetime.now(UTC))
    table = Base.metadata.tables["tickets"]
    assert set(row) <= set(table.c.keys())
    required = {c.name for c in table.c if not c.nullable and c.server_default is None}
    assert required - {"escalation_level", "sla_breached"} <= set(row)


# -- profiles ----------------------------------------------------------------------------------


def test_a_raw_profile_becomes_shares_by_task_our_code_and_package() -> None:
    site = "/x/.venv/lib/python3.11/site-packages"
    raw = "\n".join([
        f"main (worker.py:10);_handle_start ({site}/temporalio/worker/_activity.py:1);"
        f"EmailActivities.send_email ({REPO_ROOT}/activities/email.py:5);"
        f"build_message ({REPO_ROOT}/activities/email.py:9);"
        f"__setitem__ (/usr/lib/python3.11/email/message.py:7) 6",
        f"main (worker.py:10);ProjectionActivities.record_ticket ({REPO_ROOT}/activities/"
        f"projection.py:9);execute ({site}/sqlalchemy/engine/base.py:1) 3",
        f"process 42:\"python -m ticketflow worker\";run ({site}/asyncio/runners.py:1);"
        f"select (/usr/lib/python3.11/selectors.py:1) 1",
        "garbage",
    ])  # fmt: skip
    summary = summarise(raw)
    assert summary.samples == 10
    assert dict(summary.shares(summary.categories, 10)) == {
        "activity send_email": 60.0, "activity record_ticket": 30.0,
        "event loop, sockets, threads": 10.0,
    }  # fmt: skip
    ours = dict(summary.shares(summary.ours, 10))
    assert ours["EmailActivities.send_email (activities/email.py)"] == 60.0
    assert ours["build_message (activities/email.py)"] == 60.0
    assert "main (worker.py)" not in ours  # an entry point: every sample is under it
    assert dict(summary.shares(summary.packages, 10)) == {
        "email": 60.0, "sqlalchemy": 30.0, "selectors": 10.0,
    }  # fmt: skip
    assert short_file("/root/.pyenv/versions/3.11.7/lib/python3.11/asyncio/events.py") == (
        "asyncio/events.py"
    )
    assert frame_key("<module> (<string>:6)") == ("<module> (<string>)", "<string>")


# -- memory ------------------------------------------------------------------------------------


def _wt(event_id: int, at: float, kind: EventType.ValueType, **attributes: object) -> HistoryEvent:
    event = HistoryEvent(event_id=event_id, event_type=kind, event_time=_at(at))
    for name, value in attributes.items():
        getattr(event, name).CopyFrom(value)
    return event


def test_each_timer_wakeup_is_the_task_after_it() -> None:
    def task(first: int, at: float, sticky: bool, wait: float, run: float) -> list[HistoryEvent]:
        kind = (
            TaskQueueKind.TASK_QUEUE_KIND_STICKY if sticky else TaskQueueKind.TASK_QUEUE_KIND_NORMAL
        )
        return [
            _wt(first, at, E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
                workflow_task_scheduled_event_attributes=WorkflowTaskScheduledEventAttributes(
                    task_queue=TaskQueue(kind=kind))),
            _wt(first + 1, at + wait, E.EVENT_TYPE_WORKFLOW_TASK_STARTED,
                workflow_task_started_event_attributes=WorkflowTaskStartedEventAttributes(
                    scheduled_event_id=first)),
            _wt(first + 2, at + wait + run, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
                workflow_task_completed_event_attributes=WorkflowTaskCompletedEventAttributes(
                    started_event_id=first + 1)),
        ]  # fmt: skip

    fired = TimerFiredEventAttributes(started_event_id=1)
    events = [
        *task(1, 0.0, False, 0.01, 0.02),  # the first task: no timer before it
        _wt(4, 100.0, E.EVENT_TYPE_TIMER_FIRED, timer_fired_event_attributes=fired),
        *task(5, 100.0, False, 0.05, 0.30),  # evicted: the normal queue, a replay
        _wt(8, 120.0, E.EVENT_TYPE_TIMER_FIRED, timer_fired_event_attributes=fired),
        *task(9, 120.0, True, 0.01, 0.02),  # cached again
    ]
    first, second = wakeups(events)
    assert (first.fired, first.sticky) == (100.0, False)
    assert first.queue_wait == pytest.approx(0.05, abs=1e-6)
    assert first.run == pytest.approx(0.30, abs=1e-6)
    assert second.sticky
    summary = wake_summary([first, second])
    assert (summary["count"], summary["sticky"]) == (2, 1)
    assert wake_summary([])["run_p50_ms"] is None


def test_memory_steps_and_headline() -> None:
    assert memory_steps("10000,20000, 30000") == [10_000, 20_000, 30_000]
    for bad in ("", "20000,10000", "0,10", "5,5"):
        with pytest.raises(BenchError):
            memory_steps(bad)
    result = {
        "cache": 2000,
        "steps": [{"open_tickets": 10_000, "worker_rss_mib": 400.0},
                  {"open_tickets": 30_000, "worker_rss_mib": 420.0}],
        "worker_rss_growth": 0.05, "flat_goal": 0.1, "flat_verdict": "met",
    }  # fmt: skip
    (line,) = memory_headline(result)
    assert line == (
        "worker RSS with a cache of 2000: 400 MiB at 10000 open tickets, 420 MiB at 30000 "
        "(+5.0 %; goal within +-10 %: met)"
    )


# -- the worker's processes --------------------------------------------------------------------


def test_each_worker_process_gets_its_own_metrics_port() -> None:
    settings = Settings.model_validate({"WORKER_METRICS_PORT": 9100})
    assert child_env(settings, 0)["WORKER_METRICS_PORT"] == "9100"
    assert child_env(settings, 2)["WORKER_METRICS_PORT"] == "9102"
    assert child_env(settings, 1)["WORKER_PROCESSES"] == "1"
    assert _exit_code(-9) == 137
    assert _exit_code(3) == 3


# -- the stack's environment -------------------------------------------------------------------


def test_the_stack_inherits_no_setting_and_keeps_bytecode_caches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://elsewhere/db")
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("LANG", "C.UTF-8")
    env = clean_env(API_PORT="1234")
    assert "DATABASE_URL" not in env
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["LANG"] == "C.UTF-8"
    assert env["API_PORT"] == "1234"
    assert env["PYTHONPATH"].split(":")[0] == str(REPO_ROOT)
