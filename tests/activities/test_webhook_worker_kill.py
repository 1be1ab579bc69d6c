"""A worker `SIGKILL`ed during a delivery loses and duplicates nothing: the real worker
process (`ticketflow worker`, on the real dev server), a real receiver, a real store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from runtime.settings import Settings
from store.engine import SessionMaker
from store.webhook_models import DeliveryStatus
from tests.activities.webhook_support import deliveries, event, record, subscribe
from tests.conftest import eventually
from tests.webhook_receiver import receiving

REPO = Path(__file__).resolve().parents[2]


@contextmanager
def worker(
    env: WorkflowEnvironment, task_queue: str, database_url: str
) -> Iterator[subprocess.Popen[bytes]]:
    settings = {alias for f in Settings.model_fields.values() if (alias := f.alias)}
    environ = {k: v for k, v in os.environ.items() if k not in settings}
    environ |= {
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "TEMPORAL_TASK_QUEUE": task_queue,
        "DATABASE_URL": database_url,
        "PYTHONPATH": str(REPO),
        "TICKETFLOW_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "TICKETFLOW_WEBHOOK_TIMEOUT_SECONDS": "2",
        "TICKETFLOW_WEBHOOK_BACKOFF_SECONDS": "0.05",
        "TICKETFLOW_WEBHOOK_POLL_SECONDS": "0.1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "ticketflow", "worker", "--processes", "1"],
        cwd=REPO,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


async def test_a_worker_killed_mid_delivery_loses_and_duplicates_nothing(
    dev_env: WorkflowEnvironment, task_queue: str, database_url: str, sessions: SessionMaker
) -> None:
    with receiving() as receiver:
        sub = await subscribe(sessions, receiver.url)
        await record(sessions, *(event("TKT-K", seq) for seq in (1, 2, 3)))
        receiver.hold = True  # the first request waits inside the receiver
        with worker(dev_env, task_queue, database_url) as first:

            async def held() -> bool:
                return receiver.held.is_set()

            await eventually(held, timeout=60)
            first.send_signal(signal.SIGKILL)
            assert first.wait(timeout=10) == -signal.SIGKILL
        # The receiver has the event and answers 200 to a sender that is gone.
        receiver.hold = False
        receiver.release.set()
        [sending, *_] = await deliveries(sessions, sub)
        assert sending.status == DeliveryStatus.SENDING

        async def settled(n: int) -> bool:
            found = await deliveries(sessions, sub)
            return len(found) == n and all(
                d.status in (DeliveryStatus.DELIVERED, DeliveryStatus.UNCONFIRMED) for d in found
            )

        with worker(dev_env, task_queue, database_url) as second:
            # The dead attempt's claim goes stale (timeout + 5 s), then the ticket goes on.
            await eventually(lambda: settled(3), timeout=60, interval=0.2)
            second.send_signal(signal.SIGKILL)  # after 2xx answers were recorded
            second.wait(timeout=10)
        with worker(dev_env, task_queue, database_url):
            await record(sessions, event("TKT-K", 4))
            await eventually(lambda: settled(4), timeout=60, interval=0.2)
    statuses = [d.status for d in await deliveries(sessions, sub)]
    assert statuses == ["unconfirmed", "delivered", "delivered", "delivered"]
    # Each event reached the receiver exactly once, in order, across two kills.
    assert receiver.ids() == ["TKT-K:1", "TKT-K:2", "TKT-K:3", "TKT-K:4"]
