"""Record the histories that tests/workflows/test_replay.py replays.

Run only to add a scenario:  .venv/bin/python -m tests.histories.record <name> [...]
Existing files are the contract: a workflow change that cannot replay them must be guarded
with `workflow.patched`, never fixed by re-recording. (They were re-recorded once, when the
reliability issue rebuilt the loop around effects that drain beside it, before anything was
deployed; see docs/reliability.md.)
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from aiosmtpd.controller import Controller
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from domain.approvals.decide import approval_input
from domain.approvals.models import Customer, Decision, RefundRequest
from domain.policy.support import SupportPolicy
from domain.ticket.actions import (
    AgentNote,
    AgentReply,
    Close,
    CustomerReply,
    Escalate,
    Rate,
    RequestInfo,
    Resolve,
)
from domain.ticket.aggregate import Ticket
from domain.ticket.state import TicketStarted
from domain.ticket.views import TicketBrief
from runtime.temporal import retrying_not_ready
from store import repository
from store.engine import create_engine, create_sessionmaker
from store.migrate import upgrade
from store.rows import event_row, ticket_row
from tests.conftest import DEV_SERVER, TEST_SERVER
from tests.domain.ticket import ladder_policies as lp
from tests.workflows.harness import DEFAULT_POLICY, request, running_worker, started
from ticketflow.environment import free_port
from ticketflow.search_attributes import register as register_search_attributes
from workflows import search_attributes as sa
from workflows.approval import ApprovalWorkflow
from workflows.ticket import TicketWorkflow, TicketWorkflowInput

HERE = Path(__file__).resolve().parent
Handle = WorkflowHandle[TicketWorkflow, TicketBrief]


class _Sink:
    async def handle_DATA(self, *_: object) -> str:
        return "250 OK"


async def _created_replied_resolved_closed(env: WorkflowEnvironment, h: Handle) -> None:
    await h.execute_update(TicketWorkflow.note, AgentNote(actor="alice", body="looking"))
    await h.execute_update(TicketWorkflow.reply, AgentReply(actor="alice", body="Fixed?"))
    await h.execute_update(TicketWorkflow.resolve, Resolve(actor="alice", resolution="Done"))
    await h.execute_update(TicketWorkflow.close, Close(actor="alice"))
    await env.sleep(timedelta(days=10))


async def _waiting_on_customer_then_breach(env: WorkflowEnvironment, h: Handle) -> None:
    await h.execute_update(TicketWorkflow.request_info, RequestInfo(actor="bob", body="Which?"))
    await env.sleep(timedelta(hours=50))  # the reminder
    await h.execute_update(TicketWorkflow.customer_reply, CustomerReply(body="That one"))
    await h.execute_update(TicketWorkflow.escalate, Escalate(actor="bob", reason="stuck"))
    await env.sleep(timedelta(days=5))  # next update and resolution breach


async def _unanswered_breach_and_auto_close(env: WorkflowEnvironment, h: Handle) -> None:
    await env.sleep(timedelta(days=3))
    await h.execute_update(TicketWorkflow.resolve, Resolve(actor="alice", resolution="Late fix"))
    await env.sleep(timedelta(days=15))  # auto-close, then the workflow completes


async def _low_csat_followed_up_late(env: WorkflowEnvironment, h: Handle) -> None:
    await h.execute_update(TicketWorkflow.reply, AgentReply(actor="alice", body="Fixed?"))
    await h.execute_update(TicketWorkflow.resolve, Resolve(actor="alice", resolution="Done"))
    await h.execute_update(TicketWorkflow.close, Close(actor="alice"))
    await h.execute_update(TicketWorkflow.rate, Rate(score=1, comment="slow"))
    await env.sleep(timedelta(days=10))  # the follow-up breaches; the ticket stays open
    await h.execute_update(TicketWorkflow.reply, AgentReply(actor="judy", body="Sorry"))
    await h.result()


async def _escalation_ladder(env: WorkflowEnvironment, h: Handle) -> None:
    await env.sleep(timedelta(days=4))  # breach and every unresolved-time step
    await h.execute_update(TicketWorkflow.escalate, Escalate(actor="bob", reason="ok", level=1))
    await h.execute_update(TicketWorkflow.escalate, Escalate(actor="bob", reason="worse"))


async def _ladder_team_move(env: WorkflowEnvironment, h: Handle) -> None:
    await env.sleep(timedelta(minutes=40))  # DevOps at 30 min: moved, dispatched to dmitri
    await h.execute_update(TicketWorkflow.reply, AgentReply(actor="dmitri", body="On it"))
    await h.execute_update(TicketWorkflow.resolve, Resolve(actor="dmitri", resolution="Up"))


async def _content_trigger(env: WorkflowEnvironment, h: Handle) -> None:
    await env.sleep(timedelta(minutes=5))
    reply = CustomerReply(body="Creo que hay una brecha de seguridad.")
    await h.execute_update(TicketWorkflow.customer_reply, reply)
    await env.sleep(timedelta(minutes=5))  # moved to security, dispatched to sam


async def _dispatch_after_resolve(env: WorkflowEnvironment, h: Handle) -> None:
    await h.execute_update(TicketWorkflow.resolve, Resolve(actor="alice", resolution="Done"))
    await env.sleep(timedelta(minutes=5))


async def _refund_approved_then_closed(env: WorkflowEnvironment, h: Handle) -> None:
    now = await env.get_current_time()
    state = await h.query(TicketWorkflow.state)
    body = RefundRequest(amount=Decimal("49"), reason="double charge", purchase_date=now.date())
    requester = state.requester
    customer = Customer(
        email=requester.email, name=requester.name, language=requester.language,
        plan=str(requester.plan),
    )  # fmt: skip
    ask = approval_input(
        DEFAULT_POLICY.approvals,
        ticket_id=state.ticket_id,
        request=body,
        customer=customer,
        requested_by="agent:alice",
        at=now,
        subject=state.subject,
        mail_domain="desk.example",
        calendar=state.sla.calendar,
    )
    view = await h.execute_update(TicketWorkflow.request_approval, ask)
    child = env.client.get_workflow_handle(view.id)
    await child.execute_update(ApprovalWorkflow.approve, Decision(actor="agent:bob", role="agent"))
    await child.result()
    await env.sleep(timedelta(minutes=5))
    await h.execute_update(TicketWorkflow.resolve, Resolve(actor="alice", resolution="Refunded"))
    await h.execute_update(TicketWorkflow.close, Close(actor="alice"))
    await env.sleep(timedelta(days=10))


async def _enterprise_breach_credit(env: WorkflowEnvironment, h: Handle) -> None:
    await env.sleep(timedelta(hours=1))  # first response breaches: a $50 credit


def _enterprise_p1(begin: TicketStarted) -> TicketStarted:
    requester = {"email": "ana@example.com", "name": "Ana Novak", "plan": "enterprise"}
    return started(begin.ticket_id, begin.created_at, request(priority="P1", requester=requester))


async def _failed_notification(env: WorkflowEnvironment, h: Handle) -> None:
    await env.sleep(timedelta(hours=2))  # SMTP refuses past the delivery deadline


def _assigned(begin: TicketStarted) -> TicketStarted:
    return begin.model_copy(update={"assignee": "alice", "team": "frontline"})


def _short_email_deadline(begin: TicketStarted) -> TicketStarted:
    lifecycle = begin.lifecycle.model_copy(update={"email_delivery_deadline": 3600})
    return begin.model_copy(update={"lifecycle": lifecycle})


@dataclass(frozen=True)
class Scenario:
    play: Callable[[WorkflowEnvironment, Handle], Awaitable[None]]
    adjust: Callable[[TicketStarted], TicketStarted] = lambda begin: begin
    smtp_up: bool = True
    intake: bool = False
    """Start as the API does: the row and `created` event written first (`recorded_seq`)."""
    policy: Callable[[], SupportPolicy] = lambda: DEFAULT_POLICY
    priority: str = "P2"
    children: tuple[tuple[str, str], ...] = ()
    """(id suffix, file name) of child workflows whose histories are recorded too."""


SCENARIOS: dict[str, Scenario] = {
    "created_replied_resolved_closed": Scenario(_created_replied_resolved_closed),
    "waiting_on_customer_then_breach": Scenario(_waiting_on_customer_then_breach),
    "unanswered_breach_and_auto_close": Scenario(_unanswered_breach_and_auto_close),
    "low_csat_followed_up_late": Scenario(_low_csat_followed_up_late),
    "escalation_ladder": Scenario(_escalation_ladder),
    "dispatch_after_resolve": Scenario(_dispatch_after_resolve, _assigned),
    "failed_notification": Scenario(_failed_notification, _short_email_deadline, smtp_up=False),
    "intake_then_lifecycle": Scenario(_created_replied_resolved_closed, intake=True),
    "intake_then_escalation_ladder": Scenario(_escalation_ladder, intake=True),
    "ladder_team_move": Scenario(_ladder_team_move, policy=lp.dataflow, priority="P1"),
    "content_trigger_in_reply": Scenario(_content_trigger, policy=lp.security_trigger),
    "refund_approved_then_closed": Scenario(
        _refund_approved_then_closed, children=(("-R1", "refund_approval_approved"),)
    ),
    "enterprise_breach_credit": Scenario(_enterprise_breach_credit, _enterprise_p1),
}
CONTINUE_AS_NEW = ("continue_as_new_first_run", "continue_as_new_second_run")


@asynccontextmanager
async def _smtp(up: bool) -> AsyncIterator[int]:
    """A port with an SMTP server on it, or a port nobody answers on."""
    port = free_port()
    if not up:
        yield port
        return
    controller = Controller(_Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


async def _start(
    client: Client, task_queue: str, begin: TicketStarted, url: str | None = None
) -> Handle:
    """Start the ticket; with `url`, write its row and `created` event first, as intake does."""
    recorded_seq = 0
    if url is not None:
        ticket, created = Ticket.create(begin)
        engine = create_engine(url)
        async with create_sessionmaker(engine).begin() as session:
            await repository.upsert_ticket(session, values=ticket_row(ticket.state))
            await repository.insert_events(session, events=[event_row(e) for e in created.events])
        await engine.dispose()
        recorded_seq = ticket.state.last_seq
    return await client.start_workflow(
        TicketWorkflow.run,
        TicketWorkflowInput(started=begin, recorded_seq=recorded_seq),
        id=begin.ticket_id,
        task_queue=task_queue,
    )


async def _record_time_skipping(name: str, url: str) -> None:
    """One scenario on a fresh time-skipping server: nothing left pending by another."""
    scenario = SCENARIOS[name]
    policy = scenario.policy()
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=pydantic_data_converter
    )
    await register_search_attributes(env.client, "default")
    try:
        async with (
            _smtp(scenario.smtp_up) as port,
            running_worker(env.client, f"record-{name}", url, port, policy),
        ):
            now = await env.get_current_time()
            body = request(priority=scenario.priority)
            begin = scenario.adjust(started(f"TKT-{name[:12]}", now, body, policy))
            handle = await _start(
                env.client, f"record-{name}", begin, url if scenario.intake else None
            )
            await scenario.play(env, handle)
            history = await handle.fetch_history()
            for suffix, file in scenario.children:
                child = env.client.get_workflow_handle(begin.ticket_id + suffix)
                (HERE / f"{file}.json").write_text((await child.fetch_history()).to_json())
                print(f"recorded {file}")
            with contextlib.suppress(RPCError):  # unless it completed by itself
                await handle.terminate("recorded")
        (HERE / f"{name}.json").write_text(history.to_json())
        print(f"recorded {name}: {len(history.events)} events")
    finally:
        await env.shutdown()


async def _record_continue_as_new(url: str) -> None:
    """A dev server that suggests continue-as-new after 40 events; SMTP down, so the first
    run hands unsent emails to the second."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(DEV_SERVER),
        data_converter=pydantic_data_converter,
        search_attributes=sa.ALL_KEYS,
        dev_server_log_level="error",
        dev_server_extra_args=[
            "--dynamic-config-value",
            "limit.historyCount.suggestContinueAsNew=40",
        ],
    )
    try:
        async with _smtp(False) as port, running_worker(env.client, "record-can", url, port):
            begin = started("TKT-continued", await env.get_current_time(), request())
            handle = await _start(env.client, "record-can", begin)
            first_run = (await handle.describe()).run_id

            async def note(n: int) -> TicketBrief:
                return await handle.execute_update(
                    TicketWorkflow.note, AgentNote(actor="alice", body=f"note {n}"), id=f"n{n}"
                )

            for n in range(30):
                await retrying_not_ready(lambda n=n: note(n))  # type: ignore[misc]
            while (await handle.describe()).run_id == first_run:
                await asyncio.sleep(0.2)
            await handle.execute_update(TicketWorkflow.reply, AgentReply(actor="alice", body="Hi"))
            first = env.client.get_workflow_handle(begin.ticket_id, run_id=first_run)
            histories = [await first.fetch_history(), await handle.fetch_history()]
        for name, history in zip(CONTINUE_AS_NEW, histories, strict=True):
            (HERE / f"{name}.json").write_text(history.to_json())
            print(f"recorded {name}: {len(history.events)} events")
    finally:
        await env.shutdown()


async def record(names: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/tickets.db"
        upgrade(url)
        for name in names:
            if name in SCENARIOS:
                await _record_time_skipping(name, url)
        if set(CONTINUE_AS_NEW) & set(names):
            await _record_continue_as_new(url)


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1:] or [*SCENARIOS, *CONTINUE_AS_NEW]))
