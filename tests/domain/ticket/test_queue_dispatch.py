"""Queue dispatch assigns a ticket only from the queue it is in: the dispatcher reads the
queue from the store, which may not yet show that the ticket moved (an escalation level's
team move, an agent's reassignment), and must not pull it back to the old team."""

from __future__ import annotations

import pytest

from domain.errors import InvalidTransition
from domain.ticket.actions import Assign
from tests.domain.ticket.test_lifecycle import MONDAY_10, H, new_ticket


def test_a_dispatch_for_the_queue_the_ticket_left_is_refused() -> None:
    ticket = new_ticket()
    assert (ticket.state.team, ticket.state.assignee) == ("billing", None)
    ticket.assign(Assign(actor="alice", team="technical"), MONDAY_10 + H)
    stale = Assign(actor="system", agent_id="carol", team="billing", only_if_unassigned=True)
    with pytest.raises(InvalidTransition, match="has moved to technical"):
        ticket.validate_assign(stale)
    current = Assign(actor="system", agent_id="erin", team="technical", only_if_unassigned=True)
    ticket.validate_assign(current)
    ticket.assign(current, MONDAY_10 + 2 * H)
    assert (ticket.state.team, ticket.state.assignee) == ("technical", "erin")
