"""The SLA benchmark's pure helpers: tickets, due times, history reading, /proc parsing, report.

No timing is asserted and no stack is started: the machine is shared, and the
benchmark itself (`python -m bench.run --only sla`) takes minutes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType, TaskQueueKind
from temporalio.api.history.v1 import HistoryEvent

from bench.procstat import (
    Reading,
    Sample,
    Sampler,
    parse_cpu_ticks,
    parse_dev_pids,
    parse_machine_ticks,
    parse_status_kib,
    peak_cpu_percent,
    phase_summary,
)
from bench.run import parse_args
from bench.sla_alerts import first_alert, is_breach_alert, with_alerts
from bench.sla_args import sla_params
from bench.sla_history import (
    BreachTiming,
    breach_timing,
    stage_rows,
    stage_summary,
    work_per_breach,
)
from bench.sla_probe import by_quarter
from bench.sla_report import process_rows, sla_headline, sla_report
from bench.sla_tickets import IDLE_HORIZON, TicketFactory, breach_due_times, is_idle, ticket_id
from runtime.policy_file import load_policy
from runtime.settings import DEFAULT_POLICY_FILE

POLICY = load_policy(DEFAULT_POLICY_FILE)
MONDAY_10 = datetime(2026, 11, 23, 10, 0, 0, 250_000, tzinfo=UTC)
SUNDAY_NIGHT = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)

# -- arguments ---------------------------------------------------------------------------------


def test_sla_is_opt_in_and_defaults_to_ten_thousand_tickets() -> None:
    args = parse_args(["--only", "sla"])
    params = sla_params(args)
    assert (params.open_tickets, params.breaching, params.idle) == (10_000, 500, 9_500)
    assert (params.window, params.lead, params.start_concurrency) == (60.0, 120.0, 64)
    assert parse_args([]).only is None  # a plain `make bench` does not run it


def test_a_smaller_run_breaches_one_ticket_in_twenty_and_never_more_than_it_has() -> None:
    assert sla_params(parse_args(["--only", "sla", "--open-tickets", "1000"])).breaching == 50
    assert sla_params(parse_args(["--only", "sla", "--open-tickets", "3"])).breaching == 1
    few = sla_params(parse_args(["--only", "sla", "--open-tickets", "5", "--breaching", "9"]))
    assert (few.breaching, few.idle) == (5, 0)
    quick = sla_params(parse_args(["--only", "sla", "--quick"]))
    assert quick.open_tickets < 1000


@pytest.mark.parametrize("argv", [["--open-tickets", "0"], ["--window", "0"], ["--lead", "5"]])
def test_impossible_sizes_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--only", "sla", *argv])


# -- tickets -----------------------------------------------------------------------------------


def test_due_times_are_whole_seconds_spread_over_the_window() -> None:
    start = datetime(2026, 1, 1, 12, 0, 0, 300_000, tzinfo=UTC)
    due = breach_due_times(start, 60, 500)
    assert len(due) == 500
    assert due[0] == datetime(2026, 1, 1, 12, 0, 1, tzinfo=UTC)  # never before the start
    assert all(d.microsecond == 0 for d in due)
    assert due == sorted(due)
    assert due[-1] - due[0] <= timedelta(seconds=59)
    per_second = {d: due.count(d) for d in due}
    assert max(per_second.values()) - min(per_second.values()) <= 1
    assert breach_due_times(start, 60, 0) == []


@pytest.mark.parametrize("created_at", [MONDAY_10, SUNDAY_NIGHT])
def test_idle_tickets_hold_only_timers_at_least_an_hour_away(created_at: datetime) -> None:
    factory = TicketFactory(POLICY, "t1")
    tickets = [factory.idle(i, created_at) for i in range(90)]
    assert all(is_idle(t.first_wakeup, created_at) for t in tickets)
    assert {t.started.priority for t in tickets} == {"P2", "P3", "P4"}
    assert len({t.started.team for t in tickets}) == 5
    assert len({t.ticket_id for t in tickets}) == 90
    assert tickets[0].ticket_id == ticket_id("t1", "I", 0) == "SLA-t1-I000000"
    # The snapshots are the default policy's, as the API would take them.
    assert {t.started.sla.policy_version for t in tickets} == {POLICY.version}


def test_a_near_timer_is_not_idle() -> None:
    assert is_idle(None, MONDAY_10)
    assert is_idle(MONDAY_10 + IDLE_HORIZON, MONDAY_10)
    assert not is_idle(MONDAY_10 + IDLE_HORIZON - timedelta(seconds=1), MONDAY_10)


def test_a_breaching_ticket_is_due_at_the_second_asked_for() -> None:
    due = MONDAY_10.replace(microsecond=0) + timedelta(seconds=150)
    planned = TicketFactory(POLICY, "t1").breaching(7, MONDAY_10, due)
    started = planned.started
    assert planned.first_response_due_at == due
    assert started.created_at == MONDAY_10
    assert started.sla.targets.first_response == 150
    assert started.priority == "P1"
    assert started.sla.targets.resolution == POLICY.sla_policies[1].targets.resolution
    assert planned.first_wakeup is not None
    assert planned.first_wakeup < due
    assert planned.summary.startswith("[P1] ")
    assert planned.ticket_id == "SLA-t1-B000007"


def test_a_breaching_ticket_started_too_late_is_refused() -> None:
    with pytest.raises(ValueError, match="too long"):
        TicketFactory(POLICY, "t1").breaching(0, MONDAY_10, MONDAY_10 + timedelta(seconds=3))


# -- histories ---------------------------------------------------------------------------------

T0 = 1_800_000_000.0  # a due second, as epoch seconds


def _event(
    event_id: int, kind: EventType.ValueType, at: float, **attributes: object
) -> HistoryEvent:
    stamp = Timestamp(seconds=int(at), nanos=round((at - int(at)) * 1e9))
    event = HistoryEvent(event_id=event_id, event_type=kind, event_time=stamp)
    for name, value in attributes.items():
        getattr(event, name).CopyFrom(value)
    return event


def _breach_history(*, sticky: bool = True) -> list[HistoryEvent]:
    """Started, an at-risk timer, then the breach timer and the breach's work."""
    from temporalio.api.history.v1 import (
        ActivityTaskCompletedEventAttributes,
        ActivityTaskScheduledEventAttributes,
        TimerFiredEventAttributes,
        TimerStartedEventAttributes,
        UpsertWorkflowSearchAttributesEventAttributes,
        WorkflowTaskCompletedEventAttributes,
        WorkflowTaskScheduledEventAttributes,
        WorkflowTaskStartedEventAttributes,
    )
    from temporalio.api.taskqueue.v1 import TaskQueue

    E = EventType

    def scheduled(
        i: int, at: float, kind: TaskQueueKind.ValueType = TaskQueueKind.TASK_QUEUE_KIND_NORMAL
    ) -> HistoryEvent:
        attrs = WorkflowTaskScheduledEventAttributes(task_queue=TaskQueue(kind=kind))
        return _event(i, E.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, at,
                      workflow_task_scheduled_event_attributes=attrs)  # fmt: skip

    def started(i: int, at: float) -> HistoryEvent:
        attrs = WorkflowTaskStartedEventAttributes(scheduled_event_id=i - 1)
        return _event(i, E.EVENT_TYPE_WORKFLOW_TASK_STARTED, at,
                      workflow_task_started_event_attributes=attrs)  # fmt: skip

    def completed(i: int, at: float) -> HistoryEvent:
        attrs = WorkflowTaskCompletedEventAttributes(started_event_id=i - 1)
        return _event(i, E.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, at,
                      workflow_task_completed_event_attributes=attrs)  # fmt: skip

    def activity(i: int, at: float, name: str, by_task: int) -> HistoryEvent:
        attrs = ActivityTaskScheduledEventAttributes(workflow_task_completed_event_id=by_task)
        attrs.activity_type.name = name
        return _event(i, E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, at,
                      activity_task_scheduled_event_attributes=attrs)  # fmt: skip

    def activity_done(i: int, at: float, scheduled_id: int) -> HistoryEvent:
        attrs = ActivityTaskCompletedEventAttributes(scheduled_event_id=scheduled_id)
        return _event(i, E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, at,
                      activity_task_completed_event_attributes=attrs)  # fmt: skip

    def timer(i: int, at: float, seconds: float, by_task: int) -> HistoryEvent:
        attrs = TimerStartedEventAttributes(workflow_task_completed_event_id=by_task)
        attrs.start_to_fire_timeout.FromTimedelta(timedelta(seconds=seconds))
        return _event(i, E.EVENT_TYPE_TIMER_STARTED, at, timer_started_event_attributes=attrs)

    def fired(i: int, at: float, timer_started: int) -> HistoryEvent:
        attrs = TimerFiredEventAttributes(started_event_id=timer_started)
        return _event(i, E.EVENT_TYPE_TIMER_FIRED, at, timer_fired_event_attributes=attrs)

    upsert = UpsertWorkflowSearchAttributesEventAttributes(workflow_task_completed_event_id=21)
    upsert.search_attributes.indexed_fields["SlaBreached"].CopyFrom(Payload(data=b"true"))
    breach_queue = (
        TaskQueueKind.TASK_QUEUE_KIND_STICKY if sticky else TaskQueueKind.TASK_QUEUE_KIND_NORMAL
    )
    return [
        _event(1, E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, T0 - 120),
        scheduled(2, T0 - 120), started(3, T0 - 119.9), completed(4, T0 - 119.8),
        timer(5, T0 - 119.8, 95.9, 4),  # at risk, 24 s before the due time
        fired(6, T0 - 23.8, 5),
        scheduled(7, T0 - 23.8), started(8, T0 - 23.79), completed(9, T0 - 23.75),
        timer(10, T0 - 23.75, 23.79, 9),  # from now = T0 - 23.79: expires at T0 + 0.04
        fired(11, T0 + 0.05, 10),
        scheduled(12, T0 + 0.05, breach_queue), started(13, T0 + 0.25), completed(14, T0 + 0.30),
        activity(15, T0 + 0.30, "send_email", 14),
        activity(16, T0 + 0.30, "record_ticket", 14),
        activity_done(17, T0 + 0.70, 16),
        activity_done(18, T0 + 1.10, 15),
        scheduled(19, T0 + 1.10), started(20, T0 + 1.12), completed(21, T0 + 1.15),
        _event(22, E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES, T0 + 1.16,
               upsert_workflow_search_attributes_event_attributes=upsert),
    ]  # fmt: skip


def test_the_acting_task_is_the_first_started_at_or_after_the_due_time() -> None:
    timing = breach_timing("SLA-x-B000001", _breach_history(), T0)
    assert timing is not None
    assert timing.sticky
    stages = timing.stages()
    assert stages["acted"] == pytest.approx(0.30, abs=1e-6)
    assert stages["timer_fired"] == pytest.approx(0.05, abs=1e-6)
    # The breach timer was set by a task that ran 40 ms; the server fired it 10 ms late.
    assert stages["timer_set_late"] == pytest.approx(0.04, abs=1e-6)
    assert stages["timer_server_delay"] == pytest.approx(0.01, abs=1e-6)
    assert stages["fired_to_scheduled"] == pytest.approx(0.0, abs=1e-6)
    assert stages["queue_wait"] == pytest.approx(0.20, abs=1e-6)
    assert stages["worker"] == pytest.approx(0.05, abs=1e-6)
    assert stages["recorded"] == pytest.approx(0.70, abs=1e-6)  # record_ticket, not the email
    assert stages["upserted"] == pytest.approx(1.16, abs=1e-6)
    # Decided when the task whose commands upserted SlaBreached completed.
    assert stages["decided"] == pytest.approx(1.15, abs=1e-6)
    assert stages["alerted"] is None  # the sink's messages are added by bench.sla_alerts
    assert timing.stages()["timer_fired"] == pytest.approx(
        (stages["timer_set_late"] or 0) + (stages["timer_server_delay"] or 0), abs=1e-6
    )
    # From the acting task to the upsert: its activities, then the task that upserts.
    assert timing.work == (("record_ticket", 1), ("send_email", 1), ("workflow task", 2))
    assert work_per_breach([timing, timing]) == {
        "record_ticket": 1.0, "send_email": 1.0, "workflow task": 2.0,
    }  # fmt: skip
    # The parts add up to the whole.
    parts = ("timer_fired", "fired_to_scheduled", "queue_wait", "worker")
    assert sum(stages[p] or 0 for p in parts) == pytest.approx(stages["acted"], abs=1e-6)


def test_a_replayed_breach_is_not_sticky_and_a_history_without_it_has_no_timing() -> None:
    timing = breach_timing("x", _breach_history(sticky=False), T0)
    assert timing is not None
    assert not timing.sticky
    assert breach_timing("x", _breach_history()[:10], T0) is None  # the breach timer never ran


def test_stage_summary_reports_p50_p99_and_max_in_milliseconds() -> None:
    timings = [
        BreachTiming("t", due_at=0.0, task_scheduled=0.0, task_started=0.0,
                     task_completed=late, sticky=True)
        for late in (0.1, 0.2, 0.3, 0.4)
    ]  # fmt: skip
    summary = stage_summary(timings)
    assert summary["acted"] == {"count": 4, "p50_ms": 250.0, "p99_ms": 397.0, "max_ms": 400.0}
    assert "recorded" not in summary  # no history had it
    assert stage_rows(summary)[0][0] == "breach acted on (task completed)"
    quarters = by_quarter([replace_due(t, i) for i, t in enumerate(timings)])
    assert [q["count"] for q in quarters] == [1, 1, 1, 1]


def replace_due(timing: BreachTiming, index: int) -> BreachTiming:
    from dataclasses import replace

    return replace(timing, due_at=float(index), task_completed=index + timing.lateness)


# -- /proc -------------------------------------------------------------------------------------


def test_dev_pids_status_and_stat_are_parsed() -> None:
    assert parse_dev_pids("temporal 10\nsmtp-sink 11\nworker 12\napi 13\n\n") == {
        "temporal": 10, "smtp-sink": 11, "worker": 12, "api": 13,
    }  # fmt: skip
    status = "Name:\tpython\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n"
    assert parse_status_kib(status, "VmRSS") == 100 * 1024 * 1024
    assert parse_status_kib(status, "VmHWM") == 200 * 1024 * 1024
    assert parse_status_kib(status, "VmSwap") is None
    stat = "42 (python -m (x)) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0"
    assert parse_cpu_ticks(stat) == 300
    assert parse_machine_ticks("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n") == (150, 1000)


def _sample(at: float, phase: str, rss_mib: int, cpu: float, busy: int) -> Sample:
    reading = Reading(rss=rss_mib * 1024 * 1024, cpu_seconds=cpu)
    return Sample(at, phase, {"worker": reading}, machine=(busy, int(at * 200)))


def test_phases_get_median_and_peak_rss_and_cpu_without_overlap() -> None:
    samples = [
        _sample(0.0, "idle", 100, 0.0, 0),
        _sample(1.0, "idle", 102, 0.1, 20),
        _sample(2.0, "idle", 101, 0.2, 40),
        _sample(3.0, "breach window", 150, 1.0, 240),
        _sample(4.0, "breach window", 120, 1.8, 440),
    ]
    summary = phase_summary(samples)
    assert summary["idle"]["worker"] == {
        "rss_median_mib": 101.0, "rss_max_mib": 102.0, "cpu_percent": 10.0,
        "cpu_peak_percent": 10.0, "seconds": 2.0,
    }  # fmt: skip
    # Measured from the last idle sample: 1.6 s of CPU in 2 s.
    assert summary["breach window"]["worker"]["cpu_percent"] == 80.0
    assert summary["breach window"]["worker"]["cpu_peak_percent"] == 80.0
    assert summary["breach window"]["worker"]["rss_max_mib"] == 150.0
    assert summary["breach window"]["machine"] == {"busy_percent": 100.0}
    sampler = Sampler({"worker": 1}, samples=samples)
    assert sampler.cpu_percent("worker", 2.0) == pytest.approx(80.0)
    assert Sampler({"worker": 1}).cpu_percent("worker", 2.0) is None


def test_the_cpu_peak_is_the_busiest_span_between_samples() -> None:
    burst = [_sample(float(t), "x", 100, cpu, 0) for t, cpu in enumerate([0, 0, 1.5, 1.6, 1.6])]
    assert peak_cpu_percent(burst, "worker", span=2.0) == pytest.approx(80.0)
    assert peak_cpu_percent(burst[:2], "worker", span=2.0) is None


# -- the report --------------------------------------------------------------------------------


def _result() -> dict[str, object]:
    series = {"count": 95, "concurrency": 64, "elapsed_s": 2.0, "rate_per_s": 47.5,
              "p50_ms": 600.0, "p99_ms": 900.0}  # fmt: skip
    processes = {
        "idle": {"worker": {"rss_median_mib": 160.0, "rss_max_mib": 161.0, "cpu_percent": 0.5,
                            "seconds": 20.0}},
        "breach window": {
            "worker": {"rss_median_mib": 170.0, "rss_max_mib": 175.0, "cpu_percent": 30.0,
                       "seconds": 60.0},
            "temporal": {"rss_median_mib": 220.0, "rss_max_mib": 230.0, "cpu_percent": 20.0,
                         "seconds": 60.0},
            "machine": {"busy_percent": 40.0},
        },
        "idle after": {"worker": {"rss_median_mib": 171.0, "rss_max_mib": 171.0,
                                  "cpu_percent": 0.4, "seconds": 20.0},
                       "temporal": {"rss_median_mib": 221.0, "rss_max_mib": 221.0,
                                    "cpu_percent": 1.0, "seconds": 20.0}},
    }  # fmt: skip
    return {
        "params": {"open_tickets": 100, "breaching": 5, "window": 60.0, "lead": 120.0,
                   "start_concurrency": 64},
        "creation": {"idle": series, "breaching": series, "idle_mix": {"P3/starter": 95},
                     "intake_settled_s": 12.0},
        "breaches": {"expected": 5, "confirmed": 5, "timed": 5, "sticky": 4, "problems": []},
        "lateness": {"acted": {"count": 5, "p50_ms": 40.0, "p99_ms": 1200.0, "max_ms": 1300.0}},
        "lateness_by_quarter": [{"count": 2, "p50_ms": 30.0, "p99_ms": 40.0}] * 4,
        "lateness_p99_s": 1.2,
        "lateness_goal_at_most_s": 1.0,
        "lateness_verdict": "NOT met",
        "processes": processes,
        "lifetime_peak_rss_mib": {"worker": 180.0, "temporal": None},
    }  # fmt: skip


def test_the_report_names_the_goal_and_the_memory_of_each_process() -> None:
    result = _result()
    headline = sla_headline(result)
    assert headline[0].startswith("breach decision p99 s: 1.200 ")
    assert headline[0].endswith("goal <= 1 s: NOT met)")
    assert "worker 171 MiB idle with 100 open tickets, 175 MiB peak" in headline[1]
    assert "Temporal dev server 221 MiB idle, 230 MiB peak" in headline[1]
    with_alert = result | {"alert_p99_s": 3.5, "alert_goal_at_most_s": 5.0, "alert_verdict": "met"}
    alert_line = sla_headline(with_alert)[1]
    assert alert_line.startswith("breach alert p99 s: 3.500 ")
    assert alert_line.endswith("goal <= 5 s: met)")
    report = sla_report(result)
    assert "4/5 acting tasks went to the worker's sticky queue" in report
    assert "temporal - MiB" in report  # an unknown peak prints as "-"
    rows = process_rows(result["processes"])  # type: ignore[arg-type]
    assert rows[0] == ("idle", "20", "160", "161", "0", "-", "-", "-", "-", "-", "-")
    assert rows[1][-1] == "40"


# -- alerts and settled tickets ----------------------------------------------------------------


def test_the_breach_alert_is_the_first_escalation_alert_after_due_that_is_not_at_risk() -> None:
    messages = [
        (T0 - 24.0, "[ESCALATION: first response at 80%] [SLA-x-B000001] Checkout fails"),
        (T0 - 1.0, "[ESCALATION: L2 Specialists] [SLA-x-B000001] earlier than due: not it"),
        (T0 + 0.4, "We are sorry for the delay: [SLA-x-B000001] Checkout fails"),
        (T0 + 0.6, "[ESCALATION: L2 Specialists] [SLA-x-B000001] Checkout fails"),
        (T0 + 0.9, "[ESCALATION: L3 Engineering] [SLA-x-B000001] Checkout fails"),
    ]
    assert is_breach_alert(messages[3][1])
    assert not is_breach_alert(messages[0][1])
    assert not is_breach_alert(messages[2][1])
    assert first_alert(messages, T0) == T0 + 0.6
    assert first_alert(messages[:3], T0) is None
    timing = BreachTiming("SLA-x-B000001", due_at=T0, task_scheduled=T0, task_started=T0,
                          task_completed=T0 + 0.1, sticky=True)  # fmt: skip
    (alerted,) = with_alerts([timing], {"SLA-x-B000001": messages})
    assert alerted.stages()["alerted"] == pytest.approx(0.6, abs=1e-6)
    assert with_alerts([timing], {})[0].alerted is None
