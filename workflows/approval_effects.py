"""`ApprovalEffects`: what `ApprovalWorkflow` (`workflows.approval`) does beside its
decisions: the store row and the emails.

Every change bumps a version; one loop records the latest view into the store once per
version (a retry rewrites the same row). The emails, to the customer (a denial's reason,
the refund's confirmation) and to the approvers of the current rung (a request, an
escalation, an overdue payment), each run as their own task; the workflow completes once
none is left. The workflow inherits these; deterministic workflow code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from domain.approvals.models import ApprovalStarted, ApprovalView, format_money, settle_days
from domain.policy.approvals import ApprovalKind
from domain.ticket.change import recipient_tag
from domain.ticket.notifications import Notification
from workflows.mail import MAIL_RETRY, SEND_ATTEMPT_TIMEOUT, failure_message

with workflow.unsafe.imports_passed_through():
    from activities.approvals import ApprovalActivities
    from activities.email import SEND_HEARTBEAT_TIMEOUT, EmailActivities

# No maximum, like the ticket's projection: the row is what approvers list and reports
# count, so a store outage must end with it recorded (its values are bounded at the API).
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1)
)
EMAIL_DEADLINE = timedelta(hours=24)


def fmt_at(at: datetime | None) -> str | None:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else None


class ApprovalEffects:
    """The store row and the emails of one approval; the state is the workflow's."""

    _in: ApprovalStarted
    _level: int
    _due_at: datetime | None
    _version: int
    _recorded: int
    _mail_seq: int
    _sending: int
    _tasks: set[asyncio.Task[None]]

    if TYPE_CHECKING:

        @property
        def _role(self) -> str: ...

        def view(self) -> ApprovalView: ...

    def _changed(self) -> None:
        self._version += 1

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _record_loop(self) -> None:
        """The latest view into the store, once per change (a retry rewrites the same row)."""
        while True:
            await workflow.wait_condition(lambda: self._recorded < self._version)
            version = self._version
            await workflow.execute_activity_method(
                ApprovalActivities.record_approval,
                self.view(),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=STORE_RETRY,
                summary=f"record {self._in.approval_id}",
            )
            self._recorded = version

    def _context(self, **extra: Any) -> dict[str, Any]:
        i = self._in
        return {
            "ticket_id": i.ticket_id,
            "subject": i.subject,
            "requester_name": i.customer.name,
            "approval_id": i.approval_id,
            "kind": i.kind.value,
            "amount": format_money(i.amount, i.currency),
            **extra,
        }

    def _notify_customer(self, template: str, **extra: Any) -> None:
        i = self._in
        self._mail_seq += 1
        seq = self._mail_seq
        context = self._context(**extra)
        if template == "refund_confirmation":
            context |= {
                "plan": i.customer.plan,
                "settle_days": settle_days(i),
                "effective_at": fmt_at(i.effective_at)
                if i.kind == ApprovalKind.CANCELLATION
                else None,
            }
        root = i.thread_message_id
        self._send(
            Notification(
                key=f"{i.approval_id}/{seq}/{template}/{i.customer.email.lower()}",
                ticket_id=i.ticket_id,
                seq=seq,
                template=template,
                language=i.customer.language,
                recipient=i.customer.email,
                recipient_name=i.customer.name,
                message_id=f"<{i.approval_id}.{seq}.{template}@{i.mail_domain}>",
                in_reply_to=root,
                references=[root] if root else [],
                context=context,
            )
        )

    def _notify_approvers(
        self, *, escalated_from: str | None, overdue: bool, failed: str | None = None
    ) -> None:
        i = self._in
        self._mail_seq += 1
        seq = self._mail_seq
        context = self._context(
            reason=i.reason,
            role=self._role,
            due_at=self._due_at.isoformat() if self._due_at else None,
            escalated_from=escalated_from,
            overdue=overdue,
            failed=failed,
        )
        for recipient in i.chain[self._level].notify:
            tag = recipient_tag(recipient)
            self._send(
                Notification(
                    key=f"{i.approval_id}/{seq}/approval_request/{recipient.lower()}",
                    ticket_id=i.ticket_id,
                    seq=seq,
                    template="approval_request",
                    language="en",
                    recipient=recipient,
                    message_id=f"<{i.approval_id}.{seq}.approval_request.{tag}@{i.mail_domain}>",
                    context=context,
                )
            )

    def _send(self, notification: Notification) -> None:
        self._sending += 1
        self._spawn(self._send_one(notification))

    async def _send_one(self, notification: Notification) -> None:
        try:
            await workflow.execute_activity_method(
                EmailActivities.send_email,
                notification,
                schedule_to_close_timeout=EMAIL_DEADLINE,
                start_to_close_timeout=SEND_ATTEMPT_TIMEOUT,
                heartbeat_timeout=SEND_HEARTBEAT_TIMEOUT,
                retry_policy=MAIL_RETRY,
                summary=f"send {notification.template.replace('_', ' ')}",
            )
        except ActivityError as err:
            workflow.logger.error(
                "email %s not sent: %s", notification.template, failure_message(err)
            )
        finally:
            self._sending -= 1
