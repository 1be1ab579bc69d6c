"""The printed report and headline of the memory benchmark (`bench.memory`)."""

from __future__ import annotations

from typing import Any

from bench.stats import format_table

MEMORY_HEADER = ("open tickets", "step s", "worker RSS MiB", "temporal RSS MiB")
WAKE_HEADER = (
    "wakeup task (from histories)",
    "n",
    "sticky",
    "run p50",
    "run p99",
    "wait p50",
    "wait p99",
)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def memory_report(result: dict[str, Any]) -> str:
    rows = [
        (
            str(r["open_tickets"]),
            _num(r.get("step_seconds")),
            _num(r.get("worker_rss_mib")),
            _num(r.get("temporal_rss_mib")),
        )
        for r in result["steps"]
    ]
    lines = [
        f"memory with a workflow cache of {result['cache']}:",
        format_table(rows, MEMORY_HEADER),
    ]
    if wake := result.get("wakeups"):
        wake_rows = [
            (
                label,
                str(w["count"]),
                str(w["sticky"]),
                _num(w["run_p50_ms"]),
                _num(w["run_p99_ms"]),
                _num(w["queue_wait_p50_ms"]),
                _num(w["queue_wait_p99_ms"]),
            )
            for label, w in (
                ("first after eviction (replay)", wake["first_wakeup"]),
                ("next, cached again", wake["next_wakeup"]),
            )
        ]
        lines += ["", format_table(wake_rows, WAKE_HEADER)]
    if cold := result.get("cold_query"):
        lines.append(
            f"query on an evicted ticket: p50 {_num(cold['p50_ms'])} ms, p99 "
            f"{_num(cold['p99_ms'])} ms"
        )
    return "\n".join(lines)


def memory_headline(result: dict[str, Any]) -> list[str]:
    steps = result["steps"]
    first, last = steps[0], steps[-1]
    growth = result["worker_rss_growth"]
    lines = [
        f"worker RSS with a cache of {result['cache']}: {_num(first.get('worker_rss_mib'))} MiB "
        f"at {first['open_tickets']} open tickets, {_num(last.get('worker_rss_mib'))} MiB at "
        f"{last['open_tickets']} ({'-' if growth is None else f'{100 * growth:+.1f} %'}; goal "
        f"within +-{100 * result['flat_goal']:.0f} %: {result['flat_verdict']})",
    ]
    if wake := result.get("wakeups"):
        first_wake, next_wake = wake["first_wakeup"], wake["next_wakeup"]
        lines.append(
            f"waking an evicted ticket: its task runs {_num(first_wake['run_p50_ms'])} ms at "
            f"p50, {_num(first_wake['run_p99_ms'])} ms at p99 (cached: "
            f"{_num(next_wake['run_p50_ms'])} / {_num(next_wake['run_p99_ms'])} ms)"
        )
    return lines
