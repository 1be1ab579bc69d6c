"""`make bench` / `python -m bench.run`: start the stack, run the benchmarks, report, stop.

Benchmarks (`--only NAME` runs one):
- `intake`: bare starts, the shape and minimal anchors, and our tickets until acknowledged,
  with CPU per ticket (`intake ratio vs shape`, `worker cpu ms per ticket vs minimal`); with
  `--worker-processes N` (default 2), our intake again with N worker processes.
- `lifecycle`: create -> reply -> resolve -> close: history events, server tasks, payload bytes.
- `actions`: a reply over HTTP against a bare Temporal Update, p50/p99 (`action p50 ratio:`).
- `sla` (only with `--only sla`): open tickets, lateness of SLA breach decisions and alerts.
- `memory` (only with `--only memory`): worker RSS from 10,000 to 30,000 open tickets with a
  bounded workflow cache, and what replaying an evicted ticket at its wakeup costs.
The stack is `ticketflow dev` in a fresh temporary data dir on free ports, with the bench's
own worker process beside it; it is stopped at the end, on an error and on Ctrl-C (SIGTERM).
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

from sqlalchemy.engine import make_url

from bench import report
from bench.actions import run_actions
from bench.context import Context
from bench.intake import run_intake
from bench.lifecycle import run_lifecycle
from bench.load import Api, BenchError
from bench.memory import add_memory_arguments, memory_cache, run_memory
from bench.probe import AckWatch
from bench.profile import Profiler
from bench.scale import run_scale
from bench.sla import run_sla
from bench.sla_args import add_sla_arguments
from bench.stack import BenchStack
from bench.stats import Series, result_document
from bench.store_probe import StoreProbe, reset_postgres
from runtime.codec import data_dir_codec
from runtime.temporal import connect
from ticketflow.dev import DevError

BENCHMARKS = ("intake", "lifecycle", "actions")
OPT_IN = ("sla", "memory")  # long: never part of a plain `make bench`
QUICK = {"tickets": 10, "actions": 5}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Benchmark ticketflow against bare Temporal on the same dev server.",
    )
    parser.add_argument("--tickets", type=int, default=500, help="intake: tickets per batch")
    parser.add_argument("--concurrency", type=int, default=32, help="intake: requests in flight")
    parser.add_argument("--actions", type=int, default=100, help="actions: tickets replied to")
    parser.add_argument(
        "--action-concurrency", type=int, default=8, help="actions: replies in flight"
    )
    parser.add_argument(
        "--worker-processes",
        type=int,
        default=2,
        metavar="N",
        help="intake: run our batch again with N ticket worker processes (1: not at all)",
    )
    parser.add_argument("--quick", action="store_true", help="a tiny run: 10 tickets, 5 replies")
    parser.add_argument("--only", choices=BENCHMARKS + OPT_IN, help="run this benchmark only")
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help="the store on PostgreSQL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/tf_bench"
        "; its public schema is DROPPED and recreated first",
    )
    parser.add_argument(
        "--worker-cache",
        type=int,
        metavar="N",
        help="the ticket worker's workflow cache (WORKER_MAX_CACHED_WORKFLOWS; default: its own)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="intake: py-spy on the worker and the API during our batch; raw stacks in DIR",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the stack's temporary data dir")
    add_sla_arguments(parser)
    add_memory_arguments(parser)
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.quick:
        args.tickets, args.actions = QUICK["tickets"], QUICK["actions"]
    for name in ("tickets", "concurrency", "actions", "action_concurrency", "worker_processes"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.database_url and make_url(args.database_url).get_backend_name() != "postgresql":
        parser.error("--database-url must be a PostgreSQL URL (the default store is SQLite)")
    return args


def selected(args: argparse.Namespace) -> list[str]:
    return [args.only] if args.only else list(BENCHMARKS)


def say(message: str) -> None:
    print(f"bench: {message}", flush=True)


def worker_settings(args: argparse.Namespace) -> dict[str, str]:
    cache = memory_cache(args) if args.only == "memory" else args.worker_cache
    return {} if cache is None else {"WORKER_MAX_CACHED_WORKFLOWS": str(cache)}


async def run_benchmarks(
    stack: BenchStack, args: argparse.Namespace
) -> tuple[list[Series], dict[str, dict[str, Any]]]:
    # The stack is `ticketflow dev`'s: its worker encrypts payloads with the dev keyring.
    client = await connect(stack.temporal_address, "default", codec=data_dir_codec(stack.data_dir))
    store = StoreProbe(stack.store_url)
    connections = max(args.concurrency, args.action_concurrency)
    all_series: list[Series] = []
    results: dict[str, dict[str, Any]] = {}
    async with Api(stack.api_url, connections=connections) as api:
        ctx = Context(
            stack=stack,
            client=client,
            api=api,
            ack=AckWatch(stack.mail_dir, store),
            task_queue=stack.yardstick_queue,
            run_id=uuid.uuid4().hex[:8],
            store=store,
        )
        try:
            for name in selected(args):
                series, results[name] = await run_one(ctx, name, args)
                all_series += series
        finally:
            store.close()
    return all_series, results


async def run_one(
    ctx: Context, name: str, args: argparse.Namespace
) -> tuple[list[Series], dict[str, Any]]:
    if name == "intake":
        say(f"intake: {args.tickets} each of bare starts, anchors, tickets, at {args.concurrency}")
        profiler = None
        if args.profile:
            pids = ctx.stack.pids()
            profiler = Profiler(args.profile, {n: pids[n] for n in ("worker", "api")})
        series, result, bench = await run_intake(ctx, args.tickets, args.concurrency, profiler)
        if args.worker_processes > 1:
            say(f"intake: again with {args.worker_processes} worker processes")
            more, result["scale"] = await run_scale(
                ctx, bench, args.worker_processes, bench.batches["ours"], bench.batches["shape"]
            )
            series += more
        return series, result
    if name == "lifecycle":
        say("lifecycle: create, reply, resolve, close; one-line and 60 KiB descriptions")
        return [], await run_lifecycle(ctx)
    if name == "sla":
        return await run_sla(ctx, args)
    if name == "memory":
        return await run_memory(ctx, args)
    say(f"actions: {args.actions} tickets, sequential and at {args.action_concurrency}")
    return await run_actions(ctx, args.actions, args.action_concurrency)


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds like Ctrl-C, so the stack is stopped


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    command = " ".join(["python -m bench.run", *(sys.argv[1:] if argv is None else argv)])
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    if args.database_url:
        say(f"store: {make_url(args.database_url).render_as_string()} (schema reset)")
        reset_postgres(args.database_url)
    stack = BenchStack(
        keep=args.keep, database_url=args.database_url, worker_settings=worker_settings(args)
    )
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
    except ExceptionGroup as group:  # from a batch's task group
        known, other = group.split((DevError, BenchError, TimeoutError))
        if other is not None:
            raise
        for error in known.exceptions if known else ():
            say(f"error: {error}")
        return 1
    finally:
        stack.stop()
    print()
    print(report.full_report(series, results, args.action_concurrency), flush=True)
    if args.json:
        params = {
            k: getattr(args, k)
            for k in ("tickets", "concurrency", "actions", "action_concurrency", "quick", "only")
        }
        params |= {
            "worker_processes": args.worker_processes,
            "worker_cache": worker_settings(args).get("WORKER_MAX_CACHED_WORKFLOWS"),
            "store": "postgresql" if args.database_url else "sqlite",
        }
        document = result_document(
            command=command, params=params, results=results, started_at=started_at
        )
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        say(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
