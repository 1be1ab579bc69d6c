"""The bench's helpers, and `python -m bench.run --quick` end to end.

No timing is asserted anywhere: the machine is shared; only shapes and arithmetic are.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

from bench.history import Phases, add_history, phase_rows, sample
from bench.load import dev_token, run_batch
from bench.probe import MailBox, received_at, subject_ticket_ids
from bench.report import headline
from bench.run import parse_args
from bench.stats import (
    Series,
    format_ratio,
    format_table,
    percentile,
    ratio,
    result_document,
    verdict,
)
from runtime.settings import REPO_ROOT

# -- statistics ----------------------------------------------------------------------------


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([3.0, 1.0, 2.0, 5.0, 4.0], 50) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0], 0) == 1.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 100) == 4.0
    assert percentile([float(v) for v in range(1, 101)], 99) == pytest.approx(99.01)
    assert percentile([7.0], 99) == 7.0


@pytest.mark.parametrize(("values", "q"), [([], 50), ([1.0], -1), ([1.0], 101)])
def test_percentile_refuses_no_values_and_impossible_ranks(values: list[float], q: float) -> None:
    with pytest.raises(ValueError, match="percentile"):
        percentile(values, q)


def test_ratio_is_none_when_it_cannot_be_computed() -> None:
    assert ratio(3.0, 4.0) == 0.75
    assert ratio(None, 4.0) is None
    assert ratio(3.0, None) is None
    assert ratio(3.0, 0.0) is None
    assert format_ratio(0.756) == "0.76"
    assert format_ratio(None) == "n/a"


def test_verdict_against_a_lower_or_an_upper_bound() -> None:
    assert verdict(0.7, at_least=0.7) == "met"
    assert verdict(0.69, at_least=0.7) == "NOT met"
    assert verdict(2.0, at_most=2.0) == "met"
    assert verdict(2.1, at_most=2.0) == "NOT met"
    assert verdict(None, at_most=2.0) == "unknown"


def test_a_series_summarises_rate_and_percentiles_in_milliseconds() -> None:
    series = Series(name="x", latencies=[0.1, 0.2, 0.3, 0.4], elapsed=2.0, concurrency=2)

    assert series.rate == 2.0
    assert series.summary() == {
        "count": 4,
        "concurrency": 2,
        "elapsed_s": 2.0,
        "rate_per_s": 2.0,
        "p50_ms": 250.0,
        "p99_ms": 397.0,
    }
    empty = Series(name="empty").summary()
    assert (empty["rate_per_s"], empty["p50_ms"], empty["p99_ms"]) == (None, None, None)


def test_the_table_aligns_names_left_and_figures_right() -> None:
    table = format_table([("a long name", "1"), ("b", "1000")], header=("figure", "n"))

    assert table.splitlines() == [
        "figure          n",
        "-----------  ----",
        "a long name     1",
        "b            1000",
    ]


def test_the_result_document_has_a_stable_json_shape() -> None:
    results = {"intake": {"ratio": 0.5, "bare_start": Series(name="a").summary()}}
    document = result_document(
        command="python -m bench.run --quick",
        params={"tickets": 10},
        results=results,
        started_at="2026-01-01T00:00:00+00:00",
    )

    assert json.loads(json.dumps(document)) == document
    assert set(document) == {"format", "command", "started_at", "machine", "params", "results"}
    assert document["format"] == "ticketflow-bench/1"
    assert {"cpus", "python", "platform"} <= set(document["machine"])


def test_the_headline_prints_each_ratio_with_its_goal() -> None:
    results = {
        "actions": {
            "p50_ratio": 1.5,
            "p50_ratio_concurrent": 2.25,
            "p50_ratio_direct": 1.2,
            "ratio_goal_at_most": 1.3,
            "ratio_verdict": "NOT met",
            "concurrent_ratio_goal_at_most": 1.6,
            "concurrent_ratio_verdict": "NOT met",
        },
    }
    lines = headline(results, action_concurrency=8)

    assert lines[0].startswith("action p50 ratio: 1.50 ")
    assert "goal <= 1.3: NOT met" in lines[0]
    assert lines[1] == "action p50 ratio at concurrency 8: 2.25  (goal <= 1.6: NOT met)"
    assert headline({}, action_concurrency=8) == []


# -- options, load and probes --------------------------------------------------------------


def test_quick_is_a_tiny_run_and_only_selects_one_benchmark() -> None:
    args = parse_args(["--quick", "--only", "intake"])
    assert (args.tickets, args.actions, args.only) == (10, 5, "intake")
    defaults = parse_args([])
    assert (defaults.tickets, defaults.concurrency, defaults.only) == (500, 32, None)
    assert (defaults.worker_processes, defaults.database_url, defaults.profile) == (2, None, None)


@pytest.mark.parametrize(
    "argv",
    [
        ["--concurrency", "0"],
        ["--worker-processes", "0"],
        ["--database-url", "sqlite+aiosqlite:///x.db"],
    ],
)
def test_impossible_options_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(argv)


def test_a_postgres_store_is_taken() -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/tf_bench"
    assert parse_args(["--database-url", url]).database_url == url


def test_dev_tokens_are_found_by_role_and_agent() -> None:
    assert dev_token("service") == "dev-service-token"
    assert dev_token("agent", "alice") == "dev-agent-token"
    assert dev_token("agent", "bob") == "dev-agent2-token"
    with pytest.raises(LookupError):
        dev_token("agent", "nobody")


async def test_a_batch_never_has_more_than_its_concurrency_in_flight() -> None:
    in_flight, peak, done = 0, 0, []

    async def operation(index: int) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0)
        in_flight -= 1
        done.append(index)

    series = await run_batch("x", 20, 3, operation)

    assert sorted(done) == list(range(20))
    assert peak == 3
    assert (series.count, series.concurrency) == (20, 3)
    assert all(latency >= 0 for latency in series.latencies)


def test_ticket_ids_are_read_from_subject_tags() -> None:
    assert subject_ticket_ids("[TKT-000042] Invoice") == ["TKT-000042"]
    assert subject_ticket_ids("Re: [TKT-000042] Invoice [urgent]") == ["TKT-000042", "urgent"]
    assert subject_ticket_ids("no tag") == []


def test_the_mailbox_counts_complete_messages_once_each(tmp_path: Path) -> None:
    first, second = "20260301T091502.250000Z-3f9c2a1b.eml", "20260301T091501.000000Z-aaaa0000.eml"
    (tmp_path / first).write_bytes(b"Subject: [TKT-000001] Hello\r\n\r\nbody\r\n")
    (tmp_path / second).write_bytes(b"Subject: Re: [TKT-000001] Hello\r\n\r\nbody\r\n")
    (tmp_path / ".3.eml.tmp").write_bytes(b"Subject: [TKT-000002] half written\r\n\r\n")
    mailbox = MailBox(tmp_path)

    mailbox.scan()
    mailbox.scan()

    assert mailbox.per_ticket["TKT-000001"] == 2
    assert mailbox.per_ticket["TKT-000002"] == 0
    assert mailbox.total(["TKT-000001", "TKT-000002"]) == 2
    # In order of arrival, as the sink's file names say (to the microsecond, UTC).
    arrivals = mailbox.messages["TKT-000001"]
    assert [subject for _, subject in arrivals] == ["Re: [TKT-000001] Hello", "[TKT-000001] Hello"]
    assert arrivals[1][0] - arrivals[0][0] == pytest.approx(1.25)
    assert received_at(tmp_path / first) == datetime(2026, 3, 1, 9, 15, 2, 250000, UTC).timestamp()
    MailBox(tmp_path / "missing").scan()  # the sink has not made the folder yet: no error


# -- phases from histories -----------------------------------------------------------------


def _event(
    event_id: int, seconds: float, kind: EventType.ValueType, attributes: str = "", **ids: int
) -> HistoryEvent:
    """A history event at `seconds`, with `ids` set on its `attributes` message."""
    event = HistoryEvent(event_id=event_id, event_type=kind)
    event.event_time.FromNanoseconds(round(seconds * 1e9))
    for name, value in ids.items():
        setattr(getattr(event, attributes), name, value)
    return event


def test_phases_split_queue_waits_from_worker_time() -> None:
    events = [
        _event(1, 100.0, EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED),
        _event(
            2, 100.5, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
            "workflow_task_started_event_attributes", scheduled_event_id=1,
        ),
        _event(
            3, 100.75, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
            "workflow_task_completed_event_attributes", started_event_id=2,
        ),
        _event(4, 101.0, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
        _event(
            5, 101.25, EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
            "activity_task_started_event_attributes", scheduled_event_id=4,
        ),
        _event(
            6, 102.25, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
            "activity_task_completed_event_attributes", started_event_id=5,
        ),
    ]  # fmt: skip
    events[3].activity_task_scheduled_event_attributes.activity_type.name = "send_email"
    phases = Phases()

    add_history(phases, events)
    summary = phases.summary()

    assert phases.histories == 1
    assert summary["workflow task: schedule-to-start"]["p50_ms"] == 500.0
    assert summary["workflow task: start-to-close"]["p50_ms"] == 250.0
    assert summary["activity send_email: schedule-to-start"]["p50_ms"] == 250.0
    assert summary["activity send_email: start-to-close"]["mean_ms"] == 1000.0
    assert phase_rows(summary)[0] == (
        "workflow task: schedule-to-start",
        "1",
        "1.0",
        "500",
        "500",
        "500",
    )


def test_a_sample_spreads_over_the_whole_run() -> None:
    ids = [f"TKT-{i:06d}" for i in range(1, 101)]
    picked = sample(ids, 5)
    assert picked == ["TKT-000001", "TKT-000026", "TKT-000051", "TKT-000075", "TKT-000100"]
    assert sample(ids[:3], 5) == ids[:3]


# -- end to end ----------------------------------------------------------------------------


def test_a_quick_run_reports_every_figure(tmp_path: Path) -> None:
    """The real stack (`ticketflow dev` on free ports in a temp dir): 10 of each intake batch,
    again with two worker processes, the two lifecycles and 5 replies."""
    result_file = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--quick", "--json", str(result_file)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,  # generous: a first start on a busy two-core machine
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    for figure in (
        "intake ratio vs shape:",
        "worker cpu ms per ticket vs minimal:",
        "server cpu ms per ticket:",
        "2 worker processes:",
        "history events per lifecycle:",
        "server tasks per lifecycle:",
        "payload bytes per lifecycle:",
        "payload bytes per lifecycle, 60 KiB description:",
        "action p50 ratio:",
    ):
        assert figure in done.stdout, figure
    document = json.loads(result_file.read_text())
    assert set(document["results"]) == {"intake", "lifecycle", "actions"}
    intake = document["results"]["intake"]
    for batch in ("bare_start", "shape_anchor", "minimal_anchor", "acknowledged"):
        assert intake[batch]["count"] == 10, batch
        assert "temporal" in intake[batch]["cpu_ms_per_ticket"], batch
    assert intake["ratio_vs_shape"] is not None
    assert intake["worker_cpu_vs_minimal"] is not None
    assert intake["scale"]["processes"] == 2
    assert intake["scale"]["acknowledged"]["count"] == 10
    lifecycle = document["results"]["lifecycle"]
    for variant in ("one_line", "large"):
        assert lifecycle[variant]["server_tasks"] >= 4, variant
        assert lifecycle[variant]["history_events"] > lifecycle[variant]["server_tasks"]
    assert lifecycle["large"]["payload_bytes"] > 60 * 1024
    assert lifecycle["large"]["marker_copies"] >= 1
