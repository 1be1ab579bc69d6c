"""SLA timers at scale (issues 3 and 10): 10,000 open tickets, and how late their breaches are
decided and alerted.

`python -m bench.run --only sla` on the embedded stack (`ticketflow dev`):

1. *create*: start the idle tickets (`--open-tickets` minus the breaching ones)
   straight through the Temporal client, `--start-concurrency` in flight, with the
   search attributes and summary the API gives them and the default policy's SLA
   snapshots; each one's first timer is at least an hour away. By default they start
   *settled* (`--idle-start settled`): as tickets whose intake is long done, their
   row and events written first (`bench.sla_start`), their state after creation
   carried in, nothing to record and no acknowledgment to send
   (`PlannedTicket.workflow_input`); `--idle-start intake`
   starts them as the API starts a new ticket, each with its whole intake.
2. *intake*: wait until the store has every idle ticket's row (and, with
   `--idle-start intake`, the outbox every acknowledgment) and the worker is quiet
   again. *idle*: sample for a while.
3. *breaching start*: start the breaching tickets, P1 on the 24x7 calendar with
   first-response targets that make them due one after another over `--window`
   seconds, the window opening `--lead` seconds after the first of them starts.
   Their at-risk points (80 % of the target) pass on the way.
4. *breach window*: from the window's start until every breach is in the store and
   the worker is quiet. *idle after*: sample again, now with every ticket open.
5. From each breaching ticket's history: when the workflow decided the breach (the
   workflow task that upserted `SlaBreached`) and acted on it (`bench.sla_history`);
   from the SMTP sink: when the first breach alert arrived; from its `state` query:
   that the clock breached at its due second. Throughout, RSS and CPU of the worker and
   the Temporal dev server (`bench.procstat`).

No timing is asserted; the report compares the p99 of the decision (goal 1 s) and of the
alert (goal 5 s) with their goals.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import time
from collections import Counter
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from bench import sla_tickets
from bench.context import Context
from bench.load import BenchError
from bench.procstat import MIB, Sampler, peak_rss, phase_summary
from bench.sla_alerts import with_alerts
from bench.sla_args import sla_params
from bench.sla_history import stage_summary, work_per_breach
from bench.sla_probe import breach_timings, by_quarter, cold_queries, say, settle
from bench.sla_report import ALERT_GOAL_SECONDS, LATENESS_GOAL_SECONDS
from bench.sla_start import start_all, workflow_backlog
from bench.sla_tickets import PlannedTicket, TicketFactory, breach_due_times
from bench.stats import Series, rounded, verdict
from domain.enums import Metric
from runtime.policy_file import load_policy
from runtime.settings import DEFAULT_POLICY_FILE, Settings

WATCHED = ("worker", "temporal")
IDLE_SAMPLE_SECONDS = 20.0
COLD_SAMPLE = 50


def now() -> datetime:
    return datetime.now(UTC)


# -- the run -----------------------------------------------------------------------------------


class Phases:
    """Sets the sampler's phase and remembers when each began (seconds since the run began)."""

    def __init__(self, sampler: Sampler) -> None:
        self.sampler = sampler
        self.began = time.monotonic()
        self.started_at: dict[str, float] = {}

    def enter(self, phase: str) -> None:
        self.sampler.phase = phase
        self.started_at[phase] = round(time.monotonic() - self.began, 1)


def watched_pids(ctx: Context) -> dict[str, int]:
    pids = ctx.stack.pids()
    missing = [name for name in WATCHED if name not in pids]
    if missing:
        raise BenchError(f"dev.pids in {ctx.stack.data_dir} names no {', '.join(missing)}")
    return {name: pids[name] for name in WATCHED} | {"bench": os.getpid()}


def worker_cache(ctx: Context) -> int:
    """The ticket worker's workflow cache size, as the stack set it."""
    configured = ctx.stack.worker_settings.get("WORKER_MAX_CACHED_WORKFLOWS")
    default: int = Settings.model_fields["worker_max_cached_workflows"].default
    return int(configured) if configured else default


async def run_sla(ctx: Context, args: argparse.Namespace) -> tuple[list[Series], dict[str, Any]]:
    params = sla_params(args)
    pids = watched_pids(ctx)
    factory = TicketFactory(load_policy(DEFAULT_POLICY_FILE), ctx.run_id)
    idle_prefix, breach_prefix = f"SLA-{ctx.run_id}-I", f"SLA-{ctx.run_id}-B"
    settled = params.idle_start == "settled"
    sampler = Sampler(pids)
    phases = Phases(sampler)
    stop = asyncio.Event()
    sampling = asyncio.create_task(sampler.run(stop))
    mix: Counter[str] = Counter()
    due: dict[str, datetime] = {}

    def idle(index: int) -> PlannedTicket:
        planned = factory.idle(index, now())
        mix[f"{planned.started.priority}/{planned.started.request.requester.plan}"] += 1
        return planned

    async def idle_intake() -> tuple[bool, str]:
        stored = await asyncio.to_thread(ctx.store.tickets_stored, idle_prefix)
        if settled:
            backlog = await workflow_backlog(ctx.client)
            done = stored >= params.idle and backlog == 0
            return done, f"{stored} of {params.idle} stored, {backlog} workflow tasks queued"
        acked = await asyncio.to_thread(ctx.store.emails_sent, idle_prefix, "acknowledgment")
        done = stored >= params.idle and acked >= params.idle
        return done, f"{stored} stored, {acked} acknowledged of {params.idle}"

    async def breaches() -> tuple[bool, str]:
        count = await asyncio.to_thread(
            ctx.store.breaches_stored, breach_prefix, Metric.FIRST_RESPONSE.value
        )
        return count >= params.breaching, f"{count} of {params.breaching} breaches stored"

    try:
        phases.enter("create")
        say(
            f"starting {params.idle} idle tickets ({params.idle_start}), "
            f"{params.start_concurrency} in flight"
        )
        idle_series = await start_all(
            ctx,
            "sla: start idle tickets",
            params.idle,
            params.start_concurrency,
            idle,
            settled=settled,
        )
        say(f"started in {idle_series.elapsed:.0f} s; waiting for their intake")
        phases.enter("intake")
        intake_seconds = await settle("intake", idle_intake, sampler, limit=300 + 0.3 * params.idle)
        say(f"intake done {intake_seconds:.0f} s after the last start; sampling idle")
        phases.enter("idle")
        await asyncio.sleep(IDLE_SAMPLE_SECONDS)

        phases.enter("breaching start")
        window_start = now() + timedelta(seconds=params.lead)
        due_times = breach_due_times(window_start, params.window, params.breaching)

        def breaching(index: int) -> PlannedTicket:
            planned = factory.breaching(index, now(), due_times[index])
            due[planned.ticket_id] = due_times[index]
            return planned

        say(f"starting {params.breaching} breaching tickets, due from {due_times[0]:%H:%M:%S}")
        breach_series = await start_all(
            ctx,
            "sla: start breaching tickets",
            params.breaching,
            params.start_concurrency,
            breaching,
        )
        await asyncio.sleep(max(0.0, (due_times[0] - now()).total_seconds()))
        phases.enter("breach window")
        say(f"window open: {params.breaching} breaches due over {params.window:.0f} s")
        await settle("breach window", breaches, sampler, limit=params.window + 600)
        phases.enter("idle after")
        await asyncio.sleep(IDLE_SAMPLE_SECONDS)
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await sampling
    lifetime_peak = {name: peak_rss(pid) for name, pid in pids.items()}
    say("reading the breaching tickets' histories and states, and the sink's alerts")
    timings, confirmed, problems = await breach_timings(ctx.client, due)
    await asyncio.to_thread(ctx.ack.mail.scan)
    timings = with_alerts(timings, ctx.ack.mail.messages)
    cold: list[Series] = []
    if params.idle >= worker_cache(ctx) + 2 * COLD_SAMPLE:  # the first ones are surely evicted
        say(f"querying {COLD_SAMPLE} of the first idle tickets (evicted from the worker's cache)")
        first = [sla_tickets.ticket_id(ctx.run_id, "I", i) for i in range(COLD_SAMPLE)]
        cold.append(await cold_queries(ctx.client, first))

    stages = stage_summary(timings)
    p99 = stages["decided"]["p99_ms"] / 1000 if "decided" in stages else None
    alert_p99 = stages["alerted"]["p99_ms"] / 1000 if "alerted" in stages else None
    processes = phase_summary(sampler.samples)
    result = {
        "params": asdict(params),
        "creation": {
            "idle": idle_series.summary(),
            "breaching": breach_series.summary(),
            "idle_mix": dict(sorted(mix.items())),
            "intake_settled_s": round(intake_seconds, 1),
            "idle_start": params.idle_start,
        },
        "breaches": {
            "expected": params.breaching,
            "confirmed": confirmed,
            "timed": len(timings),
            "sticky": sum(t.sticky for t in timings),
            "problems": problems[:20],
        },
        "lateness": stages,
        "work_per_breach": work_per_breach(timings) if timings else {},
        "lateness_by_quarter": by_quarter(timings),
        "lateness_p99_s": rounded(p99, 3),
        "lateness_goal_at_most_s": LATENESS_GOAL_SECONDS,
        "lateness_verdict": verdict(p99, at_most=LATENESS_GOAL_SECONDS),
        "alert_p99_s": rounded(alert_p99, 3),
        "alert_goal_at_most_s": ALERT_GOAL_SECONDS,
        "alert_verdict": verdict(alert_p99, at_most=ALERT_GOAL_SECONDS),
        "alerts_found": sum(t.alerted is not None for t in timings),
        "worker_cache": worker_cache(ctx),
        "phase_started_s": phases.started_at,
        "processes": processes,
        "lifetime_peak_rss_mib": {
            name: round(value / MIB, 1) if value else None for name, value in lifetime_peak.items()
        },
    }
    if cold:
        result["cold_query"] = cold[0].summary() | {
            "max_ms": rounded(max(cold[0].latencies) * 1000)
        }
    return [idle_series, breach_series, *cold], result
