"""The printed report of the SLA benchmark, from its JSON result (`bench.sla.run_sla`)."""

from __future__ import annotations

from typing import Any

from bench.sla_history import STAGES_HEADER, stage_rows
from bench.stats import format_table

LATENESS_GOAL_SECONDS = 1.0  # p99 of the breach decision, at most
ALERT_GOAL_SECONDS = 5.0  # p99 of the first breach alert, at most

PROCESS_HEADER = (
    "phase",
    "secs",
    "worker MiB",
    "max",
    "cpu%",
    "peak",
    "temporal MiB",
    "max",
    "cpu%",
    "peak",
    "machine busy%",
)


def _num(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def process_rows(processes: dict[str, dict[str, dict[str, Any]]]) -> list[tuple[str, ...]]:
    """One row per phase: median and max RSS, CPU % of one core (mean, peak over 2 s), of the
    worker and Temporal, and how busy the whole machine was."""
    rows: list[tuple[str, ...]] = []
    for phase, per_process in processes.items():
        worker, temporal = per_process.get("worker", {}), per_process.get("temporal", {})
        machine = per_process.get("machine", {})
        seconds = worker.get("seconds", temporal.get("seconds"))
        rows.append(
            (
                phase,
                _num(seconds),
                _num(worker.get("rss_median_mib")),
                _num(worker.get("rss_max_mib")),
                _num(worker.get("cpu_percent")),
                _num(worker.get("cpu_peak_percent")),
                _num(temporal.get("rss_median_mib")),
                _num(temporal.get("rss_max_mib")),
                _num(temporal.get("cpu_percent")),
                _num(temporal.get("cpu_peak_percent")),
                _num(machine.get("busy_percent")),
            )
        )
    return rows


def memory(result: dict[str, Any], name: str) -> tuple[float | None, float | None]:
    """(median RSS idle with every ticket open, max RSS in the breach window), MiB."""
    processes = result["processes"]
    idle = processes.get("idle after", processes.get("idle", {})).get(name, {})
    window = processes.get("breach window", {}).get(name, {})
    return idle.get("rss_median_mib"), window.get("rss_max_mib")


def cold_line(result: dict[str, Any]) -> list[str]:
    if (cold := result.get("cold_query")) is None:
        return []
    cache = result.get("worker_cache", 1000)
    return [
        f"a ticket evicted from the worker's cache ({cache} workflows) answers a query in "
        f"{_num(cold['p50_ms'])} ms at p50, {_num(cold['p99_ms'])} ms at p99 ({cold['count']} "
        "queries, one at a time): a full replay, which a breach on an evicted ticket would pay too",
        "",
    ]


def sla_report(result: dict[str, Any]) -> str:
    params, creation, breaches = result["params"], result["creation"], result["breaches"]
    idle = creation["idle"]
    quarters = ", ".join(_num(q["p99_ms"]) for q in result["lateness_by_quarter"])
    peaks = result["lifetime_peak_rss_mib"]
    work = ", ".join(f"{v:g} {k}" for k, v in result.get("work_per_breach", {}).items()) or "-"
    idle_count = params["open_tickets"] - params["breaching"]
    alerts = result.get("alerts_found")
    lines = [
        f"SLA timers: {params['open_tickets']} open tickets ({idle_count} idle, started "
        f"{params.get('idle_start', 'intake')}, "
        f"{params['breaching']} breaching), breaches due over {params['window']:g} s "
        f"from {params['lead']:g} s after the breaching tickets start",
        f"created {idle['count']} idle tickets in {idle['elapsed_s']:.0f} s "
        f"({_num(idle['rate_per_s'], 1)}/s at {idle['concurrency']} in flight); their intake "
        f"settled {creation['intake_settled_s']:.0f} s after the last start",
        "",
        format_table(stage_rows(result["lateness"]), STAGES_HEADER),
        "",
        f"breaches: {breaches['confirmed']}/{breaches['expected']} clocks breached at their due "
        f"second; {breaches['sticky']}/{breaches['timed']} acting tasks went to the worker's "
        "sticky queue (workflow still cached)",
        f"acted p99 per quarter of the window (ms): {quarters}",
        *(
            []
            if alerts is None
            else [f"breach alerts found in the SMTP sink: {alerts}/{breaches['timed']}"]
        ),
        f"each breach, from its acting task to the upsert: {work}",
        *(f"problem: {p}" for p in breaches["problems"]),
        "",
        *cold_line(result),
        format_table(process_rows(result["processes"]), PROCESS_HEADER),
        f"lifetime peak RSS (VmHWM): worker {_num(peaks.get('worker'))} MiB, "
        f"temporal {_num(peaks.get('temporal'))} MiB",
    ]
    return "\n".join(lines)


def sla_headline(result: dict[str, Any]) -> list[str]:
    p99 = result["lateness_p99_s"]
    worker, temporal = memory(result, "worker"), memory(result, "temporal")
    open_tickets = result["params"]["open_tickets"]
    alert = []
    if "alert_p99_s" in result:
        alert.append(
            f"breach alert p99 s: {_num(result['alert_p99_s'], 3)}  (first breach alert in the "
            f"SMTP sink, after the due second; goal <= {result['alert_goal_at_most_s']:g} s: "
            f"{result['alert_verdict']})"
        )
    return [
        f"breach decision p99 s: {_num(p99, 3)}  (the workflow task upserting SlaBreached "
        f"completed, after the due second; goal <= {result['lateness_goal_at_most_s']:g} s: "
        f"{result['lateness_verdict']})",
        *alert,
        f"sla memory: worker {_num(worker[0])} MiB idle with {open_tickets} open tickets, "
        f"{_num(worker[1])} MiB peak in the breach window; Temporal dev server "
        f"{_num(temporal[0])} MiB idle, {_num(temporal[1])} MiB peak",
    ]
