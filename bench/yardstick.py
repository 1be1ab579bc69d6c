"""The bench's own worker process: bare workflows and the intake anchors, nothing of ours.

`python -m bench.yardstick --address HOST:PORT --task-queue Q --database-url URL
--smtp-port P` runs `NoopWorkflow`, `CounterWorkflow` and `IntakeAnchorWorkflow` with the
anchors' activities, against the same Temporal server, store and SMTP sink as the ticket
worker, until SIGTERM or SIGINT. Its own process, like ticketflow's worker, so that each
one's CPU can be read from /proc and compared.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Sequence

from temporalio.worker import Worker

from bench.anchor_activities import AnchorActivities
from bench.anchors import IntakeAnchorWorkflow
from bench.bare import CounterWorkflow, NoopWorkflow
from runtime.codec import settings_codec
from runtime.settings import Settings
from runtime.temporal import connect
from store.engine import create_engine


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.yardstick", description=__doc__)
    parser.add_argument("--address", required=True, help="Temporal frontend host:port")
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--database-url", required=True, help="the store, as ticketflow's")
    parser.add_argument("--smtp-host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, required=True)
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace, stop: asyncio.Event) -> None:
    # The bench's client encrypts with the stack's keyring (TICKETFLOW_DATA_DIR): so must we.
    client = await connect(args.address, "default", codec=settings_codec(Settings()))
    engine = create_engine(args.database_url)
    activities = AnchorActivities(engine, args.smtp_host, args.smtp_port)
    worker = Worker(
        client,
        task_queue=args.task_queue,
        workflows=[NoopWorkflow, CounterWorkflow, IntakeAnchorWorkflow],
        activities=activities.all(),
        max_concurrent_activities=100,  # as ticketflow's worker
    )
    try:
        async with worker:
            await stop.wait()
    finally:
        await engine.dispose()


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(args, stop)

    asyncio.run(run())


if __name__ == "__main__":
    main()
