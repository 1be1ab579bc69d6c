"""A ticket's side of approvals: a request puts it on hold while it waits, the decision
takes it off hold (the automatic credits are `domain.ticket.credits`).

The approval itself (its approver, deadlines, payment) is `ApprovalWorkflow`'s; the ticket
only records that one was asked for and how it ended. Pure.
"""

from __future__ import annotations

from datetime import datetime

from domain.approvals.models import ApprovalOutcome, ApprovalStarted
from domain.enums import EventType, Status
from domain.errors import InvalidTransition
from domain.ticket import transitions
from domain.ticket.change import SYSTEM, Change
from domain.ticket.state import TicketState

_HOLDABLE = frozenset({Status.NEW, Status.OPEN, Status.AWAITING_CUSTOMER})


def check_request(state: TicketState) -> None:
    """Any ticket but a closed one may ask (a closed ticket's workflow is ending)."""
    if state.status == Status.CLOSED:
        raise InvalidTransition(
            f"cannot request approval: ticket {state.ticket_id} is closed; "
            "a closed ticket is final: open a follow-up"
        )


def next_approval_number(state: TicketState) -> int:
    return state.approval_count + 1


def request(change: Change, started: ApprovalStarted, at: datetime) -> None:
    """Record the request; the ticket waits on hold (the policy's `hold_status`)."""
    check_request(change.state)
    state = change.state
    change.event(
        EventType.APPROVAL_REQUESTED,
        at,
        started.requested_by,
        approval_id=started.approval_id,
        kind=started.kind.value,
        amount=str(started.amount),
        currency=started.currency,
        role=started.chain[0].role,
    )
    change.update(
        approval_count=state.approval_count + 1,
        approvals_pending=[*state.approvals_pending, started.approval_id],
    )
    hold = state.approvals.hold_status if state.approvals else Status.ON_HOLD.value
    # An automatic credit waiting on an approver does not stop work on the ticket.
    holds = hold == Status.ON_HOLD.value and not started.automatic
    if holds and change.state.status in _HOLDABLE:
        change.update(held_for_approval=True, awaiting_since=None, reminder_sent_at=None)
        transitions.set_status(change, Status.ON_HOLD, at, started.requested_by)


def decided(change: Change, outcome: ApprovalOutcome, at: datetime) -> None:
    """The approval is decided: off the pending list; off hold once none is pending."""
    state = change.state
    if outcome.approval_id not in state.approvals_pending:
        return  # told twice (a retried signal): nothing more to do
    change.event(
        EventType.APPROVAL_DECIDED,
        at,
        outcome.actor or SYSTEM,
        approval_id=outcome.approval_id,
        status=outcome.status.value,
        role=outcome.role,
    )
    pending = [a for a in state.approvals_pending if a != outcome.approval_id]
    change.update(approvals_pending=pending)
    if not pending and state.held_for_approval:
        change.update(held_for_approval=False)
        if change.state.status == Status.ON_HOLD:
            transitions.set_status(change, Status.OPEN, at, SYSTEM)
