"""The payment adapter: an HTTP endpoint from the configuration, called with
`Idempotency-Key: <approval id>`. A real local server that fails first and records every
call: the payment is made once, the confirmation goes out as soon as it is accepted, the
settlement clock runs until the payment system reports settled; and a worker SIGKILLed
between the call and its completion does not pay twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from domain.approvals.models import ApprovalStatus, ExecutionStatus
from tests.conftest import Mailbox, eventually
from tests.payment_server import payment_server
from tests.workflows.approval_support import approval, ask, by, ledger, start_ticket
from tests.workflows.harness import running_worker
from workflows.approval import ApprovalWorkflow

REPO = Path(__file__).resolve().parents[2]


async def test_a_failing_payment_system_is_retried_and_pays_once_then_settles_when_told(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    env = time_env
    with payment_server() as payments:
        payments.fail_first = [503]
        async with running_worker(
            env.client, task_queue, database_url, port, payment_url=payments.url
        ):
            now = await env.get_current_time()
            start = await start_ticket(env.client, task_queue, now, plan="starter")
            view = await ask(env.client, start, now, amount="49", purchase_date=now.date())
            handle = approval(env.client, view.id)
            await handle.execute_update(ApprovalWorkflow.approve, by("agent", "bob"))

            async def accepted() -> bool:
                found = await handle.query(ApprovalWorkflow.view)
                return found.execution == ExecutionStatus.ACCEPTED

            await env.sleep(timedelta(seconds=5))  # past the retry's backoff
            await eventually(accepted)

            async def confirmed() -> bool:
                return any("Refund processed" in s for s in box.subjects())

            await eventually(confirmed)  # as soon as accepted, before settlement
            posts = payments.posts()
            assert [c.key for c in posts] == [view.id, view.id]  # the 503, then the payment
            assert list(payments.processed) == [view.id]
            assert posts[1].body is not None
            assert posts[1].body["amount"] == "49"

            # Not settled within the clock (3 business days): overdue, the approver is told.
            await env.sleep(timedelta(days=7))
            overdue = await handle.query(ApprovalWorkflow.view)
            assert overdue.execution == ExecutionStatus.OVERDUE
            await handle.signal(ApprovalWorkflow.settled, "pay-1")
            result = await handle.result()
            assert (result.status, result.execution) == (
                ApprovalStatus.APPROVED,
                ExecutionStatus.SETTLED,
            )
            assert result.payment_reference == "pay-1"
            [entry] = await ledger(database_url, start.ticket_id)
            assert (entry.adapter, entry.status, entry.reference) == ("http", "accepted", "pay-1")
        assert len(payments.posts()) == 2


async def test_a_worker_killed_between_the_payment_call_and_its_completion_pays_once(
    dev_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    _, smtp_port = smtp
    with payment_server() as payments:
        payments.hold = True  # the accepted payment's answer waits inside the server
        environ = {
            **os.environ,
            "DATABASE_URL": database_url,
            "PYTHONPATH": str(REPO),
            "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
            "TEMPORAL_TASK_QUEUE": task_queue,
            "SMTP_PORT": str(smtp_port),
            "TICKETFLOW_PAYMENT_URL": payments.url,
        }
        first = subprocess.Popen(
            [sys.executable, "-m", "tests.workflows.worker_proc"],
            env=environ,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            client = dev_env.client
            now = await dev_env.get_current_time()
            start = await start_ticket(client, task_queue, now, plan="starter")
            view = await ask(client, start, now, amount="120", purchase_date=now.date())
            await approval(client, view.id).execute_update(
                ApprovalWorkflow.approve, by("agent", "bob")
            )

            async def held() -> bool:
                return payments.held.is_set()

            await eventually(held, timeout=60)
            first.send_signal(signal.SIGKILL)
            assert first.wait(timeout=10) == -signal.SIGKILL
            payments.hold = False
            payments.release.set()  # the payment system made it; nobody hears the answer
            [entry] = await ledger(database_url, start.ticket_id)
            assert entry.status == "calling"
            async with running_worker(
                client, task_queue, database_url, smtp_port, payment_url=payments.url
            ):
                # Real time: the attempt's 10 s timeout notices the dead worker; the retry
                # asks the payment system about the key instead of paying again.
                handle = approval(client, view.id)

                async def accepted() -> bool:
                    found = await handle.query(ApprovalWorkflow.view)
                    return found.execution == ExecutionStatus.ACCEPTED

                await eventually(accepted, timeout=90, interval=0.5)
                await handle.signal(ApprovalWorkflow.settled, "pay-1")
                result = await handle.result()
        finally:
            if first.poll() is None:
                first.kill()
                first.wait()
        assert result.execution == ExecutionStatus.SETTLED
        assert len(payments.posts()) == 1
        assert list(payments.processed) == [view.id]
        lookups = [c for c in payments.calls if c.method == "GET"]
        assert [c.path for c in lookups] == [f"/payments/{view.id}"]
        [entry] = await ledger(database_url, start.ticket_id)
        assert (entry.status, entry.reference) == ("accepted", "pay-1")


def _next_friday_10(now: datetime) -> datetime:
    days = (4 - now.weekday()) % 7 or 7
    return (now + timedelta(days=days)).replace(hour=10, minute=0, second=0, microsecond=0)


async def test_the_settlement_clock_counts_business_days_of_the_tickets_calendar(
    time_env: WorkflowEnvironment, task_queue: str, sqlite_url: str, smtp: tuple[Mailbox, int]
) -> None:
    """Accepted on a Friday at 10:00 on Mon-Fri 09:00-18:00: 3bd is Wednesday 10:00."""
    _, port = smtp
    env = time_env
    friday = _next_friday_10(await env.get_current_time())
    await env.sleep(friday - await env.get_current_time())
    with payment_server() as payments:
        async with running_worker(
            env.client, task_queue, sqlite_url, port, payment_url=payments.url
        ):
            now = await env.get_current_time()
            start = await start_ticket(env.client, task_queue, now, plan="starter")
            assert start.sla.calendar.id == "business-hours"
            view = await ask(env.client, start, now, amount="49", purchase_date=now.date())
            handle = approval(env.client, view.id)
            await handle.execute_update(ApprovalWorkflow.approve, by("agent", "bob"))

            async def execution() -> ExecutionStatus | None:
                return (await handle.query(ApprovalWorkflow.view)).execution

            async def accepted() -> bool:
                return await execution() == ExecutionStatus.ACCEPTED

            await eventually(accepted)
            await env.sleep(timedelta(days=4, hours=23, minutes=50))  # Wednesday 09:50
            assert await execution() == ExecutionStatus.ACCEPTED
            await env.sleep(timedelta(minutes=15))  # Wednesday 10:05

            async def overdue() -> bool:
                return await execution() == ExecutionStatus.OVERDUE

            await eventually(overdue)
            await handle.signal(ApprovalWorkflow.settled, "pay-1")
            assert (await handle.result()).execution == ExecutionStatus.SETTLED
