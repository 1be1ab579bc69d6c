"""The Markdown operators see as a ticket's current details in the Temporal UI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.ticket.actions import AgentNote, AgentReply, Assign
from domain.ticket.aggregate import Ticket
from tests.workflows.harness import request, started
from workflows.details import current_details

MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_details_show_clocks_assignee_and_last_actions_without_personal_data() -> None:
    body = request(priority="P2", description="My card 4111 was charged twice")
    ticket, _ = Ticket.create(started("TKT-000042", MONDAY_10, body))
    ticket.assign(Assign(actor="alice", agent_id="bob", team="frontline"), MONDAY_10)
    ticket.note(
        AgentNote(actor="bob", body="secret internal text"), MONDAY_10 + timedelta(minutes=5)
    )
    ticket.reply(AgentReply(actor="bob", body="Refunded"), MONDAY_10 + timedelta(minutes=9))
    text = current_details(ticket.state, MONDAY_10 + timedelta(minutes=10))
    assert "**TKT-000042** · P2 · open" in text
    assert "assignee bob" in text
    assert "| first_response (cycle 1) | met |" in text
    assert "| resolution (cycle 1) | running |" in text
    assert "agent_reply by agent:bob at 2026-11-23 10:09:00 UTC" in text
    # Newest first, and only the last five.
    actions = [line for line in text.splitlines() if line.startswith("- #")]
    assert len(actions) == 5
    assert actions[0].startswith(f"- #{ticket.state.last_seq} ")
    for private in ("ana@example.com", "Ana", "4111", "secret internal text", "Refunded"):
        assert private not in text
