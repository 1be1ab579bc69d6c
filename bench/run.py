"""`make bench` / `python -m bench.run`: start the stack, run the benchmarks, report, stop.

Benchmarks (`--only NAME` runs one):
- `intake`: bare `start_workflow` starts/s against tickets acknowledged/s (`ratio:`).
- `actions`: a reply over HTTP against a bare Temporal Update, p50/p99 (`action p50 ratio:`).
- `sla` (only with `--only sla`): 10,000 open tickets, lateness of SLA breaches, RSS.
The stack is `ticketflow dev` in a fresh temporary data dir on free ports; it is
stopped at the end, on an error and on Ctrl-C (or SIGTERM).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from temporalio.worker import Worker

from bench.actions import run_actions
from bench.bare import CounterWorkflow, NoopWorkflow
from bench.context import Context
from bench.history import PHASES_HEADER, phase_rows
from bench.intake import run_intake
from bench.load import Api, BenchError
from bench.probe import AckWatch
from bench.sla import add_sla_arguments, run_sla
from bench.sla_report import sla_headline, sla_report
from bench.stack import BenchStack
from bench.stats import Series, format_ratio, format_table, result_document, table_rows
from ticketflow.dev import DevError
from ticketflow.temporal import connect

BENCHMARKS = ("intake", "actions")
OPT_IN = ("sla",)  # long: never part of a plain `make bench`
QUICK = {"tickets": 10, "actions": 5}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Benchmark ticketflow against bare Temporal on the same dev server.",
    )
    parser.add_argument("--tickets", type=int, default=500, help="intake: starts and tickets")
    parser.add_argument("--concurrency", type=int, default=32, help="intake: requests in flight")
    parser.add_argument("--actions", type=int, default=100, help="actions: tickets replied to")
    parser.add_argument(
        "--action-concurrency", type=int, default=8, help="actions: replies in flight"
    )
    parser.add_argument("--quick", action="store_true", help="a tiny run: 10 tickets, 5 replies")
    parser.add_argument("--only", choices=BENCHMARKS + OPT_IN, help="run this benchmark only")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the stack's temporary data dir")
    add_sla_arguments(parser)
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.quick:
        args.tickets, args.actions = QUICK["tickets"], QUICK["actions"]
    for name in ("tickets", "concurrency", "actions", "action_concurrency"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def selected(args: argparse.Namespace) -> list[str]:
    return [args.only] if args.only else list(BENCHMARKS)


def headline(results: dict[str, dict[str, Any]], action_concurrency: int) -> list[str]:
    """The ratio lines printed under the table."""
    lines = []
    if intake := results.get("intake"):
        lines.append(
            f"ratio: {format_ratio(intake['ratio'])}  (tickets acknowledged/s over bare "
            f"starts/s; goal >= {intake['ratio_goal_at_least']}: {intake['ratio_verdict']})"
        )
    if actions := results.get("actions"):
        goal = actions["ratio_goal_at_most"]
        lines += [
            f"action p50 ratio: {format_ratio(actions['p50_ratio'])}  (reply over HTTP over "
            f"bare Update, sequential; goal <= {goal}: {actions['ratio_verdict']})",
            f"action p50 ratio at concurrency {action_concurrency}: "
            f"{format_ratio(actions['p50_ratio_concurrent'])}",
            f"direct Update p50 ratio: {format_ratio(actions['p50_ratio_direct'])}  "
            "(TicketWorkflow.reply without the API, over bare Update)",
        ]
    if sla := results.get("sla"):
        lines += sla_headline(sla)
    return lines


def say(message: str) -> None:
    print(f"bench: {message}", flush=True)


async def run_benchmarks(
    stack: BenchStack, args: argparse.Namespace
) -> tuple[list[Series], dict[str, dict[str, Any]]]:
    run_id = uuid.uuid4().hex[:8]
    client = await connect(stack.temporal_address, "default")
    task_queue = f"bench-{run_id}"
    worker = Worker(client, task_queue=task_queue, workflows=[NoopWorkflow, CounterWorkflow])
    connections = max(args.concurrency, args.action_concurrency)
    all_series: list[Series] = []
    results: dict[str, dict[str, Any]] = {}
    async with worker, Api(stack.api_url, connections=connections) as api:
        ctx = Context(
            stack=stack,
            client=client,
            api=api,
            ack=AckWatch(stack.mail_dir, stack.db_path),
            task_queue=task_queue,
            run_id=run_id,
        )
        for name in selected(args):
            if name == "intake":
                say(f"intake: {args.tickets} starts, then tickets, at {args.concurrency}")
                series, results[name] = await run_intake(ctx, args.tickets, args.concurrency)
            elif name == "sla":
                series, results[name] = await run_sla(ctx, args)
            else:
                say(f"actions: {args.actions} tickets, sequential and at {args.action_concurrency}")
                series, results[name] = await run_actions(
                    ctx, args.actions, args.action_concurrency
                )
            all_series += series
    return all_series, results


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds like Ctrl-C, so the stack is stopped


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    command = " ".join(["python -m bench.run", *(sys.argv[1:] if argv is None else argv)])
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    stack = BenchStack(keep=args.keep)
    try:
        say(f"starting the stack in {stack.data_dir}")
        stack.start()  # before any thread exists (see bench.stack)
        say(f"stack up: API {stack.api_url}, Temporal {stack.temporal_address}")
        series, results = asyncio.run(run_benchmarks(stack, args))
    except KeyboardInterrupt:
        say("interrupted; stopping the stack")
        return 130
    except (DevError, BenchError, TimeoutError) as exc:
        say(f"error: {exc}")
        return 1
    finally:
        stack.stop()
    print()
    print(format_table(table_rows(series)))
    if intake := results.get("intake"):
        print(f"\nwhere an intake ticket's time goes ({intake['phases_histories']} histories):")
        print(format_table(phase_rows(intake["phases"]), PHASES_HEADER))
    if sla := results.get("sla"):
        print(f"\n{sla_report(sla)}")
    print()
    print("\n".join(headline(results, args.action_concurrency)), flush=True)
    if args.json:
        params = {k: getattr(args, k) for k in ("tickets", "concurrency", "actions", "quick")}
        params |= {"action_concurrency": args.action_concurrency, "only": args.only}
        document = result_document(
            command=command, params=params, results=results, started_at=started_at
        )
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        say(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
