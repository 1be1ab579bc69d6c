"""Automatic credits from the policy: an Enterprise P1 breach credits $50 and the apology
says so; an Enterprise score below 3 credits $100 in the follow-up; both on the ledger,
once each."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from domain.enums import EventType, Status
from domain.policy.approvals import ApprovalKind
from domain.ticket.actions import Rate, Resolve
from tests.conftest import Mailbox, eventually
from tests.workflows.approval_support import approval, by, ledger, start_ticket
from tests.workflows.harness import (
    DEFAULT_POLICY,
    request,
    running_worker,
    started,
    store_events,
)
from workflows.approval import ApprovalWorkflow
from workflows.ticket import TicketWorkflow, TicketWorkflowInput


async def test_an_enterprise_p1_breach_credits_50_and_the_apology_says_so(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    env = time_env
    async with running_worker(env.client, task_queue, database_url, port):
        now = await env.get_current_time()
        start = await start_ticket(env.client, task_queue, now, plan="enterprise", priority="P1")
        # p1-enterprise: first response within 15 minutes, around the clock.
        await env.sleep(timedelta(minutes=16))

        async def apologised() -> bool:
            return any("sorry for the delay" in s.lower() for s in box.subjects())

        await eventually(apologised)
        [apology] = [m for m in box.messages if "sorry for the delay" in str(m["Subject"]).lower()]
        text = apology.get_body(("plain",))
        html = apology.get_body(("html",))
        assert text is not None
        assert "credited $50.00 to your account" in text.get_content()
        assert html is not None
        assert "$50.00" in html.get_content()

        async def on_the_ledger() -> bool:
            return len(await ledger(database_url, start.ticket_id)) == 1

        await eventually(on_the_ledger)
        [entry] = await ledger(database_url, start.ticket_id)
        assert (entry.kind, entry.amount, entry.currency) == ("credit", Decimal("50.00"), "USD")
        assert entry.trigger == "breach:first_response"
        events = await store_events(database_url, start.ticket_id)
        credits = [e for e in events if e.type == EventType.CREDIT_GRANTED]
        assert [e.data["amount"] for e in credits] == ["50"]


async def test_a_starter_breach_credits_nothing(
    time_env: WorkflowEnvironment, task_queue: str, sqlite_url: str, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    env = time_env
    async with running_worker(env.client, task_queue, sqlite_url, port):
        now = await env.get_current_time()
        start = await start_ticket(env.client, task_queue, now, plan="starter", priority="P1")
        await env.sleep(timedelta(minutes=31))

        async def apologised() -> bool:
            return any("sorry for the delay" in s.lower() for s in box.subjects())

        await eventually(apologised)
        [apology] = [m for m in box.messages if "sorry for the delay" in str(m["Subject"]).lower()]
        text = apology.get_body(("plain",))
        assert text is not None
        assert "credited" not in text.get_content()
        assert await ledger(sqlite_url, start.ticket_id) == []


async def test_an_enterprise_score_below_3_credits_100_in_the_follow_up(
    time_env: WorkflowEnvironment, task_queue: str, sqlite_url: str, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    env = time_env
    async with running_worker(env.client, task_queue, sqlite_url, port):
        now = await env.get_current_time()
        start = await start_ticket(env.client, task_queue, now, plan="enterprise", priority="P3")
        ticket = env.client.get_workflow_handle(start.ticket_id)
        await ticket.execute_update(
            TicketWorkflow.resolve, Resolve(actor="alice", resolution="Resynced the export")
        )
        await ticket.execute_update(TicketWorkflow.rate, Rate(score=2, comment="Too slow"))

        def texts() -> list[str]:
            bodies = [m.get_body(("plain",)) for m in box.messages]
            return [b.get_content() for b in bodies if b is not None]

        async def followed_up() -> bool:
            credited = any("credited $100.00 to your account" in t for t in texts())
            return credited and len(await ledger(sqlite_url, start.ticket_id)) == 1

        await eventually(followed_up)
        [entry] = await ledger(sqlite_url, start.ticket_id)
        assert (entry.amount, entry.trigger) == (Decimal("100.00"), "csat")


async def test_a_breach_credit_the_policy_sends_through_a_manager_waits_for_approval(
    time_env: WorkflowEnvironment, task_queue: str, sqlite_url: str, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    env = time_env
    spec = DEFAULT_POLICY.approvals
    rule = spec.credits.breach[0].model_copy(update={"approval": "support_manager"})
    credits = spec.credits.model_copy(update={"breach": [rule]})
    policy = DEFAULT_POLICY.model_copy(
        update={"approvals": spec.model_copy(update={"credits": credits})}
    )
    async with running_worker(env.client, task_queue, sqlite_url, port, policy=policy):
        now = await env.get_current_time()
        body = request(
            priority="P1",
            requester={"email": "ana@example.com", "name": "Ana", "plan": "enterprise"},
        )
        start = started(f"TKT-{uuid.uuid4().hex[:8]}", now, body, policy=policy)
        await env.client.start_workflow(
            TicketWorkflow.run,
            TicketWorkflowInput(started=start),
            id=start.ticket_id,
            task_queue=task_queue,
        )
        await env.sleep(timedelta(minutes=16))
        handle = approval(env.client, f"{start.ticket_id}-R1")

        async def asked() -> bool:
            try:
                found = await handle.query(ApprovalWorkflow.view)
            except RPCError:
                return False
            return found.approver_role == "support_manager" and found.automatic

        await eventually(asked)
        state = await env.client.get_workflow_handle(start.ticket_id).query(TicketWorkflow.state)
        assert state.status != Status.ON_HOLD  # an automatic credit does not stop the work
        assert await ledger(sqlite_url, start.ticket_id) == []  # not before approval
        await handle.execute_update(ApprovalWorkflow.approve, by("support_manager", "judy"))
        result = await handle.result()
        assert (result.kind, result.amount) == (ApprovalKind.CREDIT, Decimal("50"))
        [entry] = await ledger(sqlite_url, start.ticket_id)
        assert (entry.key, entry.amount) == (f"{start.ticket_id}-R1", Decimal("50.00"))

        async def confirmed() -> bool:
            return any("Credit processed" in s for s in box.subjects())

        await eventually(confirmed)
