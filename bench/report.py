"""The printed report of `python -m bench.run`, from the results (as stored in the JSON file).

Tables first, then the headline: one line per figure the issues set a goal for, each with
the goal and `met` / `NOT met`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.history import PHASES_HEADER, phase_rows
from bench.lifecycle import LIFECYCLE_HEADER, lifecycle_headline, lifecycle_rows
from bench.memory_report import memory_headline, memory_report
from bench.profile import profile_rows
from bench.scale import scale_headline
from bench.sla_report import sla_headline, sla_report
from bench.stats import Series, format_ratio, format_table, table_rows

CPU_HEADER = ("cpu ms per ticket (idle taken off)", "worker", "temporal", "api", "smtp sink")
CPU_BATCHES = (
    ("bare start", "bare_start", "yardstick"),
    ("shape anchor", "shape_anchor", "yardstick"),
    ("minimal anchor", "minimal_anchor", "yardstick"),
    ("ours", "acknowledged", "worker"),
)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def cpu_rows(intake: dict[str, Any]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for label, key, worker in CPU_BATCHES:
        cpu = intake[key]["cpu_ms_per_ticket"]
        rows.append(
            (
                label,
                _ms(cpu.get(worker)),
                _ms(cpu.get("temporal")),
                _ms(cpu.get("api")),
                _ms(cpu.get("smtp-sink")),
            )
        )
    if scale := intake.get("scale"):
        cpu = scale["acknowledged"]["cpu_ms_per_ticket"]
        workers = [v for k, v in cpu.items() if k.startswith("worker")]
        rows.append(
            (
                f"ours, {scale['processes']} worker processes",
                _ms(sum(workers) if workers else None),
                _ms(cpu.get("temporal")),
                _ms(cpu.get("api")),
                _ms(cpu.get("smtp-sink")),
            )
        )
    return rows


def intake_headline(intake: dict[str, Any]) -> list[str]:
    cpu = {key: intake[key]["cpu_ms_per_ticket"] for _, key, _ in CPU_BATCHES}
    lines = [
        f"intake ratio vs shape: {format_ratio(intake['ratio_vs_shape'])}  (tickets "
        "acknowledged/s over shape anchors acknowledged/s; goal >= "
        f"{intake['ratio_vs_shape_goal_at_least']}: {intake['ratio_vs_shape_verdict']})",
        f"intake ratio vs bare starts: {format_ratio(intake['ratio_vs_bare'])}; minimal anchor "
        f"vs shape: {format_ratio(intake['minimal_vs_shape'])}",
        f"worker cpu ms per ticket vs minimal: {format_ratio(intake['worker_cpu_vs_minimal'])}"
        f"  (ours {_ms(intake['worker_cpu_ms_per_ticket'])} ms, minimal anchor "
        f"{_ms(intake['minimal_worker_cpu_ms_per_ticket'])} ms; goal <= "
        f"{intake['worker_cpu_vs_minimal_goal_at_most']}: "
        f"{intake['worker_cpu_vs_minimal_verdict']})",
        "server cpu ms per ticket: "
        + ", ".join(f"{label} {_ms(cpu[key].get('temporal'))}" for label, key, _ in CPU_BATCHES),
    ]
    if scale := intake.get("scale"):
        lines += scale_headline(scale, intake["acknowledged"]["rate_per_s"])
    return lines


def headline(results: dict[str, dict[str, Any]], action_concurrency: int) -> list[str]:
    """The figure lines printed under the tables."""
    lines = []
    if intake := results.get("intake"):
        lines += intake_headline(intake)
    if lifecycle := results.get("lifecycle"):
        lines += lifecycle_headline(lifecycle)
    if actions := results.get("actions"):
        goal = actions["ratio_goal_at_most"]
        lines += [
            f"action p50 ratio: {format_ratio(actions['p50_ratio'])}  (reply over HTTP over "
            f"bare Update, sequential; goal <= {goal}: {actions['ratio_verdict']})",
            f"action p50 ratio at concurrency {action_concurrency}: "
            f"{format_ratio(actions['p50_ratio_concurrent'])}"
            + (
                f"  (goal <= {actions['concurrent_ratio_goal_at_most']}: "
                f"{actions['concurrent_ratio_verdict']})"
                if "concurrent_ratio_goal_at_most" in actions
                else ""
            ),
            f"direct Update p50 ratio: {format_ratio(actions['p50_ratio_direct'])}  "
            "(TicketWorkflow.reply without the API, over bare Update)",
        ]
    if sla := results.get("sla"):
        lines += sla_headline(sla)
    if memory := results.get("memory"):
        lines += memory_headline(memory)
    return lines


def profile_report(profiles: dict[str, dict[str, Any]]) -> list[str]:
    out = []
    for name, summary in profiles.items():
        process, _, gil = name.partition(".")
        what = "the thread holding the GIL" if gil else "every non-idle thread"
        out += [
            f"\nprofile of the {process} during our intake, {what} ({summary['samples']} samples):",
            format_table(profile_rows(summary, "category_percent"), (f"{name}: where", "%")),
            format_table(
                profile_rows(summary, "ours_inclusive_percent"),
                (f"{name}: our code, inclusive", "%"),
            ),
            format_table(
                profile_rows(summary, "package_self_percent"), (f"{name}: package, self", "%")
            ),
        ]
    return out


def full_report(
    series: Sequence[Series], results: dict[str, dict[str, Any]], action_concurrency: int
) -> str:
    out = [format_table(table_rows(series))] if series else []
    if intake := results.get("intake"):
        out += ["", format_table(cpu_rows(intake), CPU_HEADER)]
        out += [
            f"\nwhere an intake ticket's time goes ({intake['phases_histories']} histories):",
            format_table(phase_rows(intake["phases"]), PHASES_HEADER),
            "\nwhere a minimal anchor's time goes:",
            format_table(phase_rows(intake["minimal_phases"]), PHASES_HEADER),
        ]
        out += profile_report(intake.get("profiles", {}))
    if lifecycle := results.get("lifecycle"):
        out += ["", format_table(lifecycle_rows(lifecycle), LIFECYCLE_HEADER)]
    if sla := results.get("sla"):
        out += ["", sla_report(sla)]
    if memory := results.get("memory"):
        out += ["", memory_report(memory)]
    out += ["", *headline(results, action_concurrency)]
    return "\n".join(out)
