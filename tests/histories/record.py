"""Record the histories that tests/workflows/test_replay.py replays.

Run after an intended, replay-compatible workflow change only when a new scenario is
added:  .venv/bin/python -m tests.histories.record
Existing files are the contract: a change that cannot replay them must be guarded
with `workflow.patched`, never fixed by re-recording.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from aiosmtpd.controller import Controller
from temporalio.client import WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from domain.actions import (
    AgentNote,
    AgentReply,
    Close,
    CustomerReply,
    Escalate,
    RequestInfo,
    Resolve,
)
from domain.ticket import TicketState
from store.migrate import upgrade
from tests.conftest import TEST_SERVER, free_port
from tests.workflows.harness import request, running_worker, started
from workflows.search_attributes import register
from workflows.ticket import TicketWorkflow, TicketWorkflowInput

HERE = Path(__file__).resolve().parent
Handle = WorkflowHandle[TicketWorkflow, TicketState]


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


SCENARIOS: dict[str, Callable[[WorkflowEnvironment, Handle], Awaitable[None]]] = {
    "created_replied_resolved_closed": _created_replied_resolved_closed,
    "waiting_on_customer_then_breach": _waiting_on_customer_then_breach,
    "unanswered_breach_and_auto_close": _unanswered_breach_and_auto_close,
}


async def record(names: list[str]) -> None:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=pydantic_data_converter
    )
    await register(env.client, "default")
    port = free_port()
    smtp = Controller(_Sink(), hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/tickets.db"
            upgrade(url)
            async with running_worker(env.client, "replay-recording", url, port):
                for name in names:
                    ticket_id = f"TKT-{name[:12]}"
                    now = await env.get_current_time()
                    start = started(ticket_id, now, request(priority="P2"))
                    handle = await env.client.start_workflow(
                        TicketWorkflow.run,
                        TicketWorkflowInput(started=start),
                        id=ticket_id,
                        task_queue="replay-recording",
                    )
                    await SCENARIOS[name](env, handle)
                    history = await handle.fetch_history()
                    (HERE / f"{name}.json").write_text(history.to_json())
                    print(f"recorded {name}: {len(history.events)} events")
    finally:
        smtp.stop()
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1:] or list(SCENARIOS)))
