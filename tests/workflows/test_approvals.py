"""DataFlow's authority levels on the time-skipping server, with real SMTP and a real store:
an agent approves $49 within 30 days; $600 after 30 days waits on a manager; $2,500 waits on
the finance director; a manager who misses the deadline has the request escalated to
finance, who is told; a denial emails the customer the reason. Each approved request moves
money once (the store-only ledger here) and the confirmation follows in the customer's
language."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from domain.approvals.models import ApprovalStatus, ExecutionStatus
from domain.enums import Status
from domain.policy.approvals import ApprovalKind
from tests.conftest import Mailbox, eventually
from tests.workflows.approval_support import (
    approval,
    ask,
    by,
    ledger,
    start_ticket,
    stored,
)
from tests.workflows.harness import running_worker
from workflows.approval import ApprovalWorkflow
from workflows.search_attributes import APPROVAL_PENDING
from workflows.ticket import TicketWorkflow


async def _ticket_status(env: WorkflowEnvironment, ticket_id: str) -> tuple[Status, list[str]]:
    state = await env.client.get_workflow_handle(ticket_id).query(TicketWorkflow.state)
    return state.status, state.approvals_pending


async def _now(env: WorkflowEnvironment) -> datetime:
    return await env.get_current_time()


async def test_an_agent_approves_49_within_30_days_and_the_customer_is_told_in_their_language(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    env = time_env
    async with running_worker(env.client, task_queue, database_url, port):
        now = await _now(env)
        start = await start_ticket(env.client, task_queue, now, plan="starter", language="ms")
        view = await ask(
            env.client, start, now, amount="49.00", purchase_date=(now - timedelta(days=12)).date()
        )
        assert view.id == f"{start.ticket_id}-R1"
        assert (view.approver_role, view.status) == ("agent", ApprovalStatus.PENDING)
        assert await _ticket_status(env, start.ticket_id) == (Status.ON_HOLD, [view.id])

        decided = await approval(env.client, view.id).execute_update(
            ApprovalWorkflow.approve, by("agent", "bob", "within the guarantee")
        )
        assert decided.status == ApprovalStatus.APPROVED
        result = await approval(env.client, view.id).result()
        assert result.execution == ExecutionStatus.SETTLED  # the ledger settles at once
        assert result.decided_role == "agent"

        async def off_hold() -> bool:
            return await _ticket_status(env, start.ticket_id) == (Status.OPEN, [])

        await eventually(off_hold)
        [entry] = await ledger(database_url, start.ticket_id)
        assert (entry.key, entry.amount, entry.status) == (view.id, Decimal("49.00"), "settled")
        row = await stored(database_url, view.id)
        assert row is not None
        assert row.status == ApprovalStatus.APPROVED
        assert row.decided_by == "agent:bob"

        def confirmations() -> list[str]:
            return [s for s in box.subjects() if "Bayaran balik telah diproses" in s]

        async def confirmed() -> bool:
            return len(confirmations()) == 1

        await eventually(confirmed)
        [mail] = [m for m in box.messages if "Bayaran balik" in str(m["Subject"])]
        body = mail.get_body(("plain",))
        assert body is not None
        assert "$49.00" in body.get_content()


async def test_600_after_30_days_waits_on_a_manager_and_an_agent_cannot_decide_it(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    _box, port = smtp
    env = time_env
    async with running_worker(env.client, task_queue, database_url, port):
        now = await _now(env)
        start = await start_ticket(env.client, task_queue, now, plan="professional")
        view = await ask(
            env.client, start, now, amount="600", purchase_date=(now - timedelta(days=45)).date()
        )
        assert view.approver_role == "support_manager"
        handle = approval(env.client, view.id)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(ApprovalWorkflow.approve, by("agent", "bob"))
        assert isinstance(refused.value.cause, ApplicationError)
        assert refused.value.cause.type == "NotApprover"
        decided = await handle.execute_update(
            ApprovalWorkflow.approve, by("support_manager", "judy")
        )
        assert (decided.status, decided.decided_role) == (
            ApprovalStatus.APPROVED,
            "support_manager",
        )
        # Decided once: a second decision is refused before it enters history.
        with pytest.raises(WorkflowUpdateFailedError) as again:
            await handle.execute_update(ApprovalWorkflow.deny, by("support_manager", "judy", "no"))
        assert isinstance(again.value.cause, ApplicationError)
        assert again.value.cause.type == "InvalidTransition"
        assert (await handle.result()).execution == ExecutionStatus.SETTLED


async def test_2500_waits_on_finance_and_a_missed_manager_deadline_escalates_to_finance(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    env = time_env
    async with running_worker(env.client, task_queue, database_url, port):
        now = await _now(env)
        start = await start_ticket(env.client, task_queue, now, plan="enterprise")
        big = await ask(
            env.client, start, now, amount="2500", purchase_date=(now - timedelta(days=10)).date()
        )
        assert big.approver_role == "finance_director"
        manager = await ask(
            env.client, start, now, amount="600", purchase_date=(now - timedelta(days=40)).date()
        )
        assert manager.id == f"{start.ticket_id}-R2"
        assert manager.approver_role == "support_manager"
        with pytest.raises(WorkflowUpdateFailedError):
            await approval(env.client, big.id).execute_update(
                ApprovalWorkflow.approve, by("support_manager", "judy")
            )

        # The manager has 24 hours; nobody decides; the request climbs to finance.
        await env.sleep(timedelta(hours=24, minutes=1))
        view = await approval(env.client, manager.id).query(ApprovalWorkflow.view)
        assert (view.approver_role, view.escalations) == ("finance_director", 1)
        assert view.status == ApprovalStatus.PENDING

        async def finance_told() -> bool:
            return any(
                "[APPROVAL: finance_director]" in s and "$600.00" in s for s in box.subjects()
            )

        await eventually(finance_told)
        subject = "[APPROVAL: finance_director]"
        escalated = [
            m for m in box.messages if subject in str(m["Subject"]) and "$600" in str(m["Subject"])
        ]
        assert str(escalated[0]["To"]) == "finance@ticketflow.local"
        text = escalated[0].get_body(("plain",))
        assert text is not None
        assert "support_manager passed" in text.get_content()

        for handle in (approval(env.client, big.id), approval(env.client, manager.id)):
            decided = await handle.execute_update(
                ApprovalWorkflow.approve, by("finance_director", "frida")
            )
            assert decided.decided_role == "finance_director"
            assert (await handle.result()).execution == ExecutionStatus.SETTLED

        async def off_hold() -> bool:
            return await _ticket_status(env, start.ticket_id) == (Status.OPEN, [])

        await eventually(off_hold)
        entries = await ledger(database_url, start.ticket_id)
        assert sorted(e.amount for e in entries) == [Decimal("600.00"), Decimal("2500.00")]


async def test_a_denied_request_emails_the_reason_and_moves_no_money(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    env = time_env
    async with running_worker(env.client, task_queue, database_url, port):
        now = await _now(env)
        start = await start_ticket(env.client, task_queue, now, plan="professional")
        view = await ask(
            env.client, start, now, amount="600", purchase_date=(now - timedelta(days=90)).date()
        )
        handle = approval(env.client, view.id)
        reason = "The subscription was used for the whole period; see clause 4.2."
        await handle.execute_update(ApprovalWorkflow.deny, by("support_manager", "judy", reason))
        result = await handle.result()
        assert (result.status, result.execution) == (ApprovalStatus.DENIED, None)

        async def denied_mail() -> bool:
            return any("not approved" in s for s in box.subjects())

        await eventually(denied_mail)
        [mail] = [m for m in box.messages if "not approved" in str(m["Subject"])]
        assert start.ticket_id in str(mail["Subject"])
        text = mail.get_body(("plain",))
        assert text is not None
        assert reason in text.get_content()
        assert await ledger(database_url, start.ticket_id) == []

        async def off_hold() -> bool:
            return await _ticket_status(env, start.ticket_id) == (Status.OPEN, [])

        await eventually(off_hold)


async def test_the_ticket_publishes_approval_pending_while_one_waits(
    time_env: WorkflowEnvironment, task_queue: str, sqlite_url: str, smtp: tuple[Mailbox, int]
) -> None:
    _, port = smtp
    env = time_env
    async with running_worker(env.client, task_queue, sqlite_url, port):
        now = await _now(env)
        start = await start_ticket(env.client, task_queue, now)
        ticket = env.client.get_workflow_handle(start.ticket_id)
        view = await ask(env.client, start, now, amount="20", purchase_date=now.date())

        async def pending(expected: bool | None) -> bool:
            described = await ticket.describe()
            return described.typed_search_attributes.get(APPROVAL_PENDING) is expected

        await eventually(lambda: pending(True))
        await approval(env.client, view.id).execute_update(
            ApprovalWorkflow.approve, by("agent", "bob")
        )
        await eventually(lambda: pending(None))


async def test_an_approved_cancellation_runs_on_its_effective_date(
    time_env: WorkflowEnvironment, task_queue: str, sqlite_url: str, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    env = time_env
    async with running_worker(env.client, task_queue, sqlite_url, port):
        now = await _now(env)
        start = await start_ticket(env.client, task_queue, now, plan="starter")
        view = await ask(env.client, start, now, amount="49", kind=ApprovalKind.CANCELLATION)
        assert view.approver_role == "agent"  # an agent processes cancellations with notice
        assert view.effective_at == now + timedelta(days=7)
        handle = approval(env.client, view.id)
        await handle.execute_update(ApprovalWorkflow.approve, by("agent", "bob"))

        async def scheduled() -> bool:
            found = await handle.query(ApprovalWorkflow.view)
            return found.execution == ExecutionStatus.SCHEDULED

        await eventually(scheduled)
        assert await ledger(sqlite_url, start.ticket_id) == []  # nothing runs before the date
        await env.sleep(timedelta(days=7, minutes=1))
        result = await handle.result()
        assert result.execution == ExecutionStatus.SETTLED
        assert result.executed_at is not None
        assert result.executed_at >= view.effective_at
        [entry] = await ledger(sqlite_url, start.ticket_id)
        assert entry.kind == "cancellation"

        async def confirmed() -> bool:
            return any("Cancellation processed" in s for s in box.subjects())

        await eventually(confirmed)
