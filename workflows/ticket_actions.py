"""`TicketActions`: the agents' and the customer's updates of `TicketWorkflow`.

Each is an Update that applies one of the `Ticket` aggregate's actions at `workflow.now()`
through the workflow's `_apply`, and a validator that runs the aggregate's read-only check
through `_validate` (so a refused action never enters history). `TicketWorkflow`
(`workflows.ticket`) inherits them; its relations (approvals, incidents, a parent) and
its loop stay there.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from temporalio import workflow

from domain.ticket.actions import (
    Action,
    AgentNote,
    AgentReply,
    Assign,
    ChangePriority,
    Close,
    CustomerReply,
    Escalate,
    Hold,
    Rate,
    Reopen,
    RequestInfo,
    Resolve,
)
from domain.ticket.aggregate import Ticket
from domain.ticket.change import Effects
from domain.ticket.views import TicketBrief


class TicketActions:
    """The agents' actions (reply, note, request info, assign, priority, escalate, hold,
    resolve, reopen, close) and the customer's (reply, rate), as Updates."""

    if TYPE_CHECKING:

        def _apply(self, transition: Callable[[Ticket, datetime], Effects]) -> TicketBrief: ...

        def _validate(self, check: Callable[[Ticket], None]) -> None: ...

    @workflow.update
    def reply(self, reply: AgentReply) -> TicketBrief:
        """A public agent reply, emailed to the customer."""
        return self._apply(lambda t, now: t.reply(reply, now))

    @reply.validator
    def _validate_reply(self, reply: AgentReply) -> None:
        self._validate(lambda t: t.validate_reply())

    @workflow.update
    def note(self, note: AgentNote) -> TicketBrief:
        """An internal note: never emailed, never an SLA response."""
        return self._apply(lambda t, now: t.note(note, now))

    @note.validator
    def _validate_note(self, note: AgentNote) -> None:
        self._validate(lambda t: t.check(Action.NOTE))

    @workflow.update
    def request_info(self, request: RequestInfo) -> TicketBrief:
        """Ask the customer for information; waits in `awaiting_customer`."""
        return self._apply(lambda t, now: t.request_info(request, now))

    @request_info.validator
    def _validate_request_info(self, request: RequestInfo) -> None:
        self._validate(lambda t: t.check(Action.REQUEST_INFO))

    @workflow.update
    def assign(self, assign: Assign) -> TicketBrief:
        return self._apply(lambda t, now: t.assign(assign, now))

    @assign.validator
    def _validate_assign(self, assign: Assign) -> None:
        self._validate(lambda t: t.validate_assign(assign))

    @workflow.update
    def change_priority(self, change: ChangePriority) -> TicketBrief:
        """Re-apply the SLA policy for a new priority."""
        return self._apply(lambda t, now: t.change_priority(change, now))

    @change_priority.validator
    def _validate_change_priority(self, change: ChangePriority) -> None:
        self._validate(lambda t: t.validate_priority(change))

    @workflow.update
    def escalate(self, escalate: Escalate) -> TicketBrief:
        return self._apply(lambda t, now: t.escalate(escalate, now))

    @escalate.validator
    def _validate_escalate(self, escalate: Escalate) -> None:
        self._validate(lambda t: t.validate_escalate(escalate))

    @workflow.update
    def hold(self, hold: Hold) -> TicketBrief:
        return self._apply(lambda t, now: t.hold(hold, now))

    @hold.validator
    def _validate_hold(self, hold: Hold) -> None:
        self._validate(lambda t: t.check(Action.HOLD))

    @workflow.update
    def resolve(self, resolve: Resolve) -> TicketBrief:
        return self._apply(lambda t, now: t.resolve(resolve, now))

    @resolve.validator
    def _validate_resolve(self, resolve: Resolve) -> None:
        self._validate(lambda t: t.check(Action.RESOLVE))

    @workflow.update
    def reopen(self, reopen: Reopen) -> TicketBrief:
        return self._apply(lambda t, now: t.reopen(reopen, now))

    @reopen.validator
    def _validate_reopen(self, reopen: Reopen) -> None:
        self._validate(lambda t: t.check(Action.REOPEN))

    @workflow.update
    def close(self, close: Close) -> TicketBrief:
        return self._apply(lambda t, now: t.close(close, now))

    @close.validator
    def _validate_close(self, close: Close) -> None:
        self._validate(lambda t: t.check(Action.CLOSE))

    @workflow.update
    def customer_reply(self, reply: CustomerReply) -> TicketBrief:
        """The customer wrote: resumes waiting clocks, reopens a resolved ticket."""
        return self._apply(lambda t, now: t.customer_reply(reply, now))

    @customer_reply.validator
    def _validate_customer_reply(self, reply: CustomerReply) -> None:
        self._validate(lambda t: t.validate_customer_reply(workflow.now()))

    @workflow.update
    def rate(self, rate: Rate) -> TicketBrief:
        """The customer's satisfaction score; a low one owes a manager follow-up."""
        return self._apply(lambda t, now: t.rate(rate, now))

    @rate.validator
    def _validate_rate(self, rate: Rate) -> None:
        self._validate(lambda t: t.validate_rate(rate))
