"""Settled idle tickets: their rows are written as intake writes them, and their workflow
starts with nothing left to record or send."""

from __future__ import annotations

from datetime import UTC, datetime

from bench.run import parse_args
from bench.sla_args import sla_params
from bench.sla_start import SettledRows
from bench.sla_tickets import TicketFactory
from runtime.policy_file import load_policy
from runtime.settings import DEFAULT_POLICY_FILE
from store import repository
from store.engine import SessionMaker

POLICY = load_policy(DEFAULT_POLICY_FILE)
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_a_settled_ticket_carries_its_state_with_nothing_pending() -> None:
    planned = TicketFactory(POLICY, "t1").idle(3, MONDAY_10)
    new = planned.workflow_input(settled=False)
    assert new.carried is None
    assert new.started == planned.started
    settled = planned.workflow_input(settled=True)
    assert settled.carried == planned.state
    assert (settled.unrecorded, settled.unsent, settled.undispatched) == ([], [], [])
    assert parse_args(["--only", "sla"]).idle_start == "settled"
    assert sla_params(parse_args(["--only", "sla", "--idle-start", "intake"])).idle_start == (
        "intake"
    )


async def test_settled_rows_are_the_row_and_events_intake_writes(
    database_url: str, sessions: SessionMaker
) -> None:
    planned = TicketFactory(POLICY, "t2").idle(7, MONDAY_10)
    rows = SettledRows(database_url, connections=2)
    try:
        await rows.write(planned)
    finally:
        await rows.close()
    async with sessions() as session:
        row = await repository.get_ticket(session, ticket_id=planned.ticket_id)
        events = await repository.list_events(session, ticket_id=planned.ticket_id)
    assert row is not None
    assert (row.status, row.priority) == (planned.state.status.value, planned.state.priority)
    assert [event.seq for event in events] == [event.seq for event in planned.events]
    assert events[0].type == "created"
