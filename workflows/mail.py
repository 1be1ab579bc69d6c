"""`MailSender`: a ticket's emails, sent beside its decision loop (see `workflows.effects`).

The emails one decision asks for go out in one activity (`send_emails`), each claimed on
its own in the outbox, so each exactly once; a lone email goes by `send_email`. Each has a
deadline (`Notification.send_by`, kept across continue-as-new); past it, or refused for
good, the ticket records `notification_failed` for it. Deterministic workflow code.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, RetryState, TimeoutError

from domain.ticket.notifications import EmailBatch, Notification, SendStatus

with workflow.unsafe.imports_passed_through():
    from activities.email import PERMANENT_SMTP_ERROR, SEND_HEARTBEAT_TIMEOUT, EmailActivities

# Bounded by each email's deadline (the activity's schedule-to-close). At most a minute
# apart, so the emails an outage held back go out within a minute of SMTP's return.
MAIL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=[PERMANENT_SMTP_ERROR],
)

SEND_ATTEMPT_TIMEOUT = timedelta(minutes=5)
"""One SMTP transaction: every step is bounded by the SMTP timeout and heartbeats first."""
BATCHED_EMAILS = "batched-emails"
"""Patch: the emails of one decision go in one activity (before: one activity each)."""
LAST_CHANCE = timedelta(minutes=1)
"""An email carried past its deadline (continue-as-new) still gets this long to go out."""


class MailSender:
    def __init__(
        self,
        *,
        email_failed: Callable[[Notification, str], None],
        settled: Callable[[], None],
        deadline: timedelta,
        spawn: Callable[[Coroutine[Any, Any, None]], None],
    ) -> None:
        self._email_failed = email_failed
        self._settled = settled
        self._deadline = deadline
        self._spawn = spawn
        self._sending: dict[str, Notification] = {}

    @property
    def sending(self) -> list[Notification]:
        """Emails not yet settled (sent, or given up on)."""
        return list(self._sending.values())

    def send(self, notifications: list[Notification]) -> None:
        """Send the emails one decision asked for: one activity for all of them."""
        if not notifications:
            return
        deadline = workflow.now() + self._deadline
        stamped = [n.model_copy(update={"send_by": n.send_by or deadline}) for n in notifications]
        for notification in stamped:
            self._sending[notification.key] = notification
        if len(stamped) > 1 and workflow.patched(BATCHED_EMAILS):
            self._spawn(self._send_batch(stamped))
        else:
            for notification in stamped:
                self._spawn(self._send(notification))

    async def _send_batch(self, batch: list[Notification]) -> None:
        send_by = min(n.send_by for n in batch if n.send_by is not None)
        try:
            results = await workflow.execute_activity_method(
                EmailActivities.send_emails,
                EmailBatch(notifications=batch),
                schedule_to_close_timeout=max(send_by - workflow.now(), LAST_CHANCE),
                start_to_close_timeout=SEND_ATTEMPT_TIMEOUT * len(batch),
                heartbeat_timeout=SEND_HEARTBEAT_TIMEOUT,
                retry_policy=MAIL_RETRY,
                summary=f"send {len(batch)} emails",
            )
        except ActivityError:
            # Past the deadline: some may have gone out. One last try each says which
            # (the outbox answers for those sent) and records the others as failed.
            for notification in batch:
                self._spawn(self._send(notification))
            return
        for notification, result in zip(batch, results, strict=True):
            del self._sending[notification.key]
            if result.status == SendStatus.FAILED:
                self._email_failed(notification, result.error or "refused")
        self._settled()

    async def _send(self, notification: Notification) -> None:
        assert notification.send_by is not None
        window = max(notification.send_by - workflow.now(), LAST_CHANCE)
        error: str | None = None
        try:
            result = await workflow.execute_activity_method(
                EmailActivities.send_email,
                notification,
                schedule_to_close_timeout=window,
                start_to_close_timeout=SEND_ATTEMPT_TIMEOUT,
                heartbeat_timeout=SEND_HEARTBEAT_TIMEOUT,
                retry_policy=MAIL_RETRY,
                summary=f"send {notification.template.replace('_', ' ')}",
            )
            if result.status == SendStatus.FAILED:
                error = result.error or "refused"
        except ActivityError as err:
            error = failure_message(err)
            if isinstance(err.cause, TimeoutError) or err.retry_state == RetryState.TIMEOUT:
                error = f"not delivered by {notification.send_by:%Y-%m-%d %H:%M} UTC: {error}"
        finally:
            del self._sending[notification.key]
        if error is not None:
            self._email_failed(notification, error)
        self._settled()


def failure_message(err: ActivityError) -> str:
    """The innermost failure message of an activity error (no stack, no payloads)."""
    cause: BaseException = err
    while cause.__cause__ is not None:
        cause = cause.__cause__
    return str(cause) or type(cause).__name__
