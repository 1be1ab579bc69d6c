"""Sending notifications over SMTP exactly once per notification key."""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage

import aiosmtplib
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


class SmtpMailer:
    """Delivers one `EmailMessage`. 5xx refusals raise `PermanentSmtpError`; the rest retry."""

    def __init__(self, config: SmtpConfig) -> None:
        self._config = config

    async def send(self, message: EmailMessage) -> None:
        cfg = self._config
        try:
            await aiosmtplib.send(
                message,
                hostname=cfg.host,
                port=cfg.port,
                username=cfg.username,
                password=cfg.password,
                start_tls=cfg.starttls,
                use_tls=cfg.use_tls,
                timeout=cfg.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as err:
            codes = [r.code for r in err.recipients]
            if codes and all(500 <= c < 600 for c in codes):
                raise ApplicationError(
                    f"recipient refused: {err}", type=PERMANENT_SMTP_ERROR, non_retryable=True
                ) from err
            raise
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
        async with self._sessions.begin() as session:
            entry = await repository.outbox_begin(
                session,
                key=notification.key,
                ticket_id=notification.ticket_id,
                template=notification.template,
                recipient=notification.recipient,
                message_id=notification.message_id,
                at=datetime.now(UTC),
            )
            status = entry.status
        if status == "sent":
            return SendResult(key=notification.key, status="already_sent")
        if status == "failed":
            return SendResult(key=notification.key, status="failed", error=entry.error)
        try:
            # A template that cannot render will not render on retry either: permanent.
            message = build_message(notification, self._renderer, self._mail_from)
        except TemplateError as err:
            return await self._fail(notification, f"template {notification.template}: {err}")
        try:
            await self._mailer.send(message)
        except ApplicationError as err:
            if err.type != PERMANENT_SMTP_ERROR:
                raise
            return await self._fail(notification, str(err))
        async with self._sessions.begin() as session:
            await repository.outbox_finish(
                session, key=notification.key, status="sent", at=datetime.now(UTC)
            )
        return SendResult(key=notification.key, status="sent")

    async def _fail(self, notification: Notification, error: str) -> SendResult:
        """Record a permanent failure; the ticket goes on and the timeline says why."""
        async with self._sessions.begin() as session:
            await repository.outbox_finish(
                session, key=notification.key, status="failed", at=datetime.now(UTC), error=error
            )
        return SendResult(key=notification.key, status="failed", error=error)
