"""Sending notifications over SMTP exactly once per notification key."""

from __future__ import annotations

import email.utils
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage

import aiosmtplib
from aiosmtplib.email import extract_recipients, extract_sender, flatten_message
from jinja2 import TemplateError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.rendering import TemplateRenderer
from domain.notifications import Notification, SendResult
from store import repository
from store.engine import SessionMaker

PERMANENT_SMTP_ERROR = "PermanentSmtpError"


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    use_tls: bool = False
    timeout: float = 30.0
    local_hostname: str | None = None
    """The EHLO name; the host's FQDN if unset."""


class SmtpMailer:
    """Delivers one `EmailMessage` in one SMTP transaction.

    `before_commit` runs after the server accepted sender and recipients and
    before DATA: the last moment at which failing still means "not delivered".
    5xx refusals raise `PermanentSmtpError`; everything else is left to retry.
    """

    def __init__(self, config: SmtpConfig) -> None:
        self._config = config
        # aiosmtplib would resolve the EHLO name (a DNS lookup) on every connection.
        self._local_hostname = config.local_hostname or socket.getfqdn()

    async def send(
        self, message: EmailMessage, before_commit: Callable[[], Awaitable[None]]
    ) -> None:
        cfg = self._config
        sender = extract_sender(message)
        recipients = extract_recipients(message)
        if sender is None or not recipients:
            raise ApplicationError(
                "message has no sender or recipient", type=PERMANENT_SMTP_ERROR, non_retryable=True
            )
        client = aiosmtplib.SMTP(
            hostname=cfg.host,
            port=cfg.port,
            username=cfg.username,
            password=cfg.password,
            start_tls=cfg.starttls,
            use_tls=cfg.use_tls,
            timeout=cfg.timeout,
            local_hostname=self._local_hostname,
        )
        try:
            async with client:
                await client.mail(sender)
                for recipient in recipients:
                    await client.rcpt(recipient)
                await before_commit()
                await client.data(flatten_message(message))
        except aiosmtplib.SMTPResponseException as err:
            if 500 <= err.code < 600:
                raise ApplicationError(
                    f"SMTP {err.code}: {err.message}",
                    type=PERMANENT_SMTP_ERROR,
                    non_retryable=True,
                ) from err
            raise


def build_message(
    notification: Notification, renderer: TemplateRenderer, mail_from: str
) -> EmailMessage:
    rendered = renderer.render(notification.template, notification.language, notification.context)
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


class EmailActivities:
    """`send_email`: idempotent by `Notification.key`, recorded in the outbox table."""

    def __init__(
        self,
        sessions: SessionMaker,
        mailer: SmtpMailer,
        renderer: TemplateRenderer,
        mail_from: str,
    ) -> None:
        self._sessions = sessions
        self._mailer = mailer
        self._renderer = renderer
        self._mail_from = mail_from

    @activity.defn(name="send_email")
    async def send_email(self, notification: Notification) -> SendResult:
        """Send once per key. The outbox row goes `committing` just before SMTP DATA and
        `sent` after the server's 250. An attempt that finds `committing` (its predecessor
        died inside that window of milliseconds) does not send again: a duplicate in the
        customer's inbox is worse than the rare unconfirmed delivery, which stays recorded."""
        key = notification.key
        async with self._sessions() as session:
            entry = await repository.outbox_get(session, key=key)
        if entry is not None and entry.status in ("sent", "committing"):
            if entry.status == "committing":
                await self._finish(key, "sent", "delivery unconfirmed: worker stopped during DATA")
            return SendResult(key=key, status="already_sent")
        if entry is not None and entry.status == "failed":
            return SendResult(key=key, status="failed", error=entry.error)
        try:
            # A template that cannot render will not render on retry either: permanent.
            message = build_message(notification, self._renderer, self._mail_from)
        except TemplateError as err:
            return await self._fail(notification, f"template {notification.template}: {err}")

        committed = False

        async def commit() -> None:
            nonlocal committed
            if activity.in_activity():
                activity.heartbeat("committing")
            async with self._sessions.begin() as session:
                await repository.outbox_commit(
                    session,
                    key=key,
                    ticket_id=notification.ticket_id,
                    template=notification.template,
                    recipient=notification.recipient,
                    message_id=notification.message_id,
                    at=datetime.now(UTC),
                )
            committed = True

        try:
            await self._mailer.send(message, commit)
        except ApplicationError as err:
            if err.type != PERMANENT_SMTP_ERROR:
                raise
            return await self._fail(notification, str(err))
        except Exception as err:
            if committed:
                # The server answered DATA with an error, or the connection broke before its
                # answer: this attempt is known (or taken) not to have delivered; retry sends.
                await self._finish(key, "retry", f"{type(err).__name__}: {err}")
            raise
        await self._finish(key, "sent")
        return SendResult(key=key, status="sent")

    async def _finish(self, key: str, status: str, error: str | None = None) -> None:
        async with self._sessions.begin() as session:
            await repository.outbox_finish(
                session, key=key, status=status, at=datetime.now(UTC), error=error
            )

    async def _fail(self, notification: Notification, error: str) -> SendResult:
        """Record a permanent failure; the ticket goes on and the timeline says why."""
        async with self._sessions.begin() as session:
            await repository.outbox_commit(
                session,
                key=notification.key,
                ticket_id=notification.ticket_id,
                template=notification.template,
                recipient=notification.recipient,
                message_id=notification.message_id,
                at=datetime.now(UTC),
                status="failed",
                error=error,
            )
        return SendResult(key=notification.key, status="failed", error=error)
