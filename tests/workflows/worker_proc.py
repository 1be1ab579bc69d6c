"""A ticket worker in its own process, for tests that kill it.

Run as `python -m tests.workflows.worker_proc`.

Reads TEMPORAL_ADDRESS, TEMPORAL_TASK_QUEUE, DATABASE_URL and SMTP_PORT from the environment.
"""

from __future__ import annotations

import asyncio
import os

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from tests.workflows.harness import running_worker


async def main() -> None:
    client = await Client.connect(
        os.environ["TEMPORAL_ADDRESS"], data_converter=pydantic_data_converter
    )
    async with running_worker(
        client,
        os.environ["TEMPORAL_TASK_QUEUE"],
        os.environ["DATABASE_URL"],
        int(os.environ["SMTP_PORT"]),
        payment_url=os.environ.get("TICKETFLOW_PAYMENT_URL") or None,
    ):
        print("worker ready", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
