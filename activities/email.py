"""Sending notifications over SMTP exactly once per notification key."""

from __future__ import annotations

import email.utils
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage

from jinja2 import TemplateError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.letterhead import Letterhead
from activities.rendering import TemplateRenderer
from activities.smtp import (
    PERMANENT_SMTP_ERROR,
    SEND_HEARTBEAT_TIMEOUT,
    SEND_IN_PROGRESS,
    STALE_CLAIM_MARGIN,
    SmtpConfig,
    SmtpMailer,
)
from domain.ticket.notifications import EmailBatch, Notification, SendResult, SendStatus
from store import outbox
from store.engine import SessionMaker
from store.models import OutboxStatus

__all__ = [
    "PERMANENT_SMTP_ERROR",
    "SEND_HEARTBEAT_TIMEOUT",
    "SEND_IN_PROGRESS",
    "EmailActivities",
    "SmtpConfig",
    "SmtpMailer",
    "build_message",
]


def build_message(
    notification: Notification,
    renderer: TemplateRenderer,
    mail_from: str,
    letterhead: Letterhead | None = None,
) -> EmailMessage:
    context = (letterhead or Letterhead()).context(notification)
    rendered = renderer.render(notification.template, notification.language, context)
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = email.utils.formataddr(
        (notification.recipient_name or "", notification.recipient)
    )
    message["Subject"] = rendered.subject
    message["Message-ID"] = notification.message_id
    message["Date"] = email.utils.format_datetime(datetime.now(UTC))
    if notification.in_reply_to:
        message["In-Reply-To"] = notification.in_reply_to
    if notification.references:
        message["References"] = " ".join(notification.references)
    message["X-Ticket-ID"] = notification.ticket_id
    message["Auto-Submitted"] = "auto-generated" if notification.template != "agent_reply" else "no"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


class _ClaimLost(Exception):
    """Another attempt of the same email claimed it between our read and our claim."""


class EmailActivities:
    """`send_emails` and `send_email`: exactly once per `Notification.key`, through the
    outbox's atomic claim."""

    def __init__(
        self,
        sessions: SessionMaker,
        mailer: SmtpMailer,
        renderer: TemplateRenderer,
        mail_from: str,
        letterhead: Letterhead | None = None,
    ) -> None:
        """`letterhead`: the brand, ticket links and survey links the emails carry."""
        self._sessions = sessions
        self._mailer = mailer
        self._renderer = renderer
        self._mail_from = mail_from
        self._letterhead = letterhead or Letterhead()
        # A claim outlives its holder only if the holder died: one SMTP step plus a margin.
        self._stale_after = mailer.step_timeout + STALE_CLAIM_MARGIN

    @activity.defn(name="send_emails")
    async def send_emails(self, batch: EmailBatch) -> list[SendResult]:
        """Every email of one decision (an escalation's alerts and notices, say), each exactly
        once by its own claim: one activity where there was one per recipient. An email that
        cannot go now (SMTP down, a 4xx) fails the attempt once the others were tried; the
        retry finds what went out in the outbox and sends only the rest."""
        results: list[SendResult] = []
        first_error: Exception | None = None
        for notification in batch.notifications:
            try:
                results.append(await self._send_one(notification))
            except Exception as err:
                first_error = first_error or err
        if first_error is not None:
            raise first_error
        return results

    @activity.defn(name="send_email")
    async def send_email(self, notification: Notification) -> SendResult:
        """One email (see `_send_one`): for an email carried past its deadline, and for
        workflows that scheduled one activity per email."""
        return await self._send_one(notification)

    async def _send_one(self, notification: Notification) -> SendResult:
        """Send once per key. An attempt claims the key in one compare-and-set just before
        SMTP DATA and settles it after the server's answer, so two attempts (a retry beside a
        zombie, two workflow runs) never both send. A claim whose holder died inside DATA is
        settled as sent, unconfirmed: a duplicate in the customer's inbox is worse than the
        rare unconfirmed delivery, which stays recorded."""
        if _retrying():
            # A first attempt needs no look: the claim before DATA is the arbiter anyway.
            _heartbeat("outbox")
            known = await self._known_outcome(notification.key)
            if known is not None:
                return known
        try:
            # A template that cannot render will not render on retry either: permanent.
            message = build_message(notification, self._renderer, self._mail_from, self._letterhead)
        except TemplateError as err:
            return await self._fail(notification, f"template {notification.template}: {err}")

        token = str(uuid.uuid4())
        claimed = False

        async def claim() -> None:
            nonlocal claimed
            _heartbeat("claim")
            async with self._sessions.begin() as session:
                claimed = await outbox.claim(
                    session, outbox_item(notification), token=token, at=datetime.now(UTC)
                )
            if not claimed:
                raise _ClaimLost

        try:
            await self._mailer.send(message, claim, _heartbeat)
        except _ClaimLost:
            known = await self._known_outcome(notification.key)
            if known is not None:
                return known
            raise _in_progress(notification.key) from None
        except ApplicationError as err:
            if err.type != PERMANENT_SMTP_ERROR:
                raise
            if claimed:
                await self._settle(notification.key, token, OutboxStatus.FAILED, str(err))
                return SendResult(key=notification.key, status=SendStatus.FAILED, error=str(err))
            return await self._fail(notification, str(err))
        except Exception as err:
            if claimed:
                # The server answered DATA with an error, or the connection broke before its
                # answer: this attempt is known (or taken) not to have delivered; retry sends.
                await self._settle(notification.key, token, OutboxStatus.RETRY, _describe(err))
            raise
        await self._settle(notification.key, token, OutboxStatus.SENT, None)
        return SendResult(key=notification.key, status=SendStatus.SENT)

    async def _known_outcome(self, key: str) -> SendResult | None:
        """What the outbox already says about `key`: sent, failed, or being sent right now
        (raises `SendInProgress`, retryable). None: this attempt may try to send."""
        async with self._sessions() as session:
            entry = await outbox.get(session, key=key)
        if entry is None or entry.status == OutboxStatus.RETRY:
            return None
        if entry.status == OutboxStatus.SENT:
            return SendResult(key=key, status=SendStatus.ALREADY_SENT)
        if entry.status == OutboxStatus.FAILED:
            return SendResult(key=key, status=SendStatus.FAILED, error=entry.error)
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            stale = await outbox.settle_stale(
                session,
                key=key,
                claimed_before=now - self._stale_after,
                at=now,
                error="delivery unconfirmed: the sending attempt stopped during DATA",
            )
        if stale:
            return SendResult(key=key, status=SendStatus.ALREADY_SENT)
        raise _in_progress(key)

    async def _settle(self, key: str, token: str, status: OutboxStatus, error: str | None) -> None:
        async with self._sessions.begin() as session:
            mine = await outbox.settle(
                session, key=key, token=token, status=status, at=datetime.now(UTC), error=error
            )
        if not mine:
            activity.logger.warning("outbox claim of %s was taken over as stale", key)

    async def _fail(self, notification: Notification, error: str) -> SendResult:
        """Record a permanent failure; the ticket goes on and the timeline says why."""
        async with self._sessions.begin() as session:
            recorded = await outbox.record_failure(
                session, outbox_item(notification), at=datetime.now(UTC), error=error
            )
        if not recorded:  # another attempt holds the claim or has sent: it decides
            known = await self._known_outcome(notification.key)
            if known is not None:
                return known
        return SendResult(key=notification.key, status=SendStatus.FAILED, error=error)


def _retrying() -> bool:
    """Whether this is a retry of the activity (outside one: a first attempt)."""
    return activity.in_activity() and activity.info().attempt > 1


def _heartbeat(step: str) -> None:
    if activity.in_activity():
        activity.heartbeat(step)


def _in_progress(key: str) -> ApplicationError:
    return ApplicationError(f"another attempt is sending {key} right now", type=SEND_IN_PROGRESS)


def _describe(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}"


def outbox_item(notification: Notification) -> outbox.OutboxItem:
    """The outbox row's name for `notification`."""
    return outbox.OutboxItem(
        key=notification.key,
        ticket_id=notification.ticket_id,
        template=notification.template,
        recipient=notification.recipient,
        message_id=notification.message_id,
    )
