"""SMTP delivery, one bounded step at a time: what the send activity drives."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage

import aiosmtplib
from aiosmtplib.email import extract_recipients, extract_sender, flatten_message
from temporalio.exceptions import ApplicationError

PERMANENT_SMTP_ERROR = "PermanentSmtpError"
SEND_IN_PROGRESS = "SendInProgress"
"""Another attempt of the same email holds the outbox claim: retry later (retryable)."""
SEND_HEARTBEAT_TIMEOUT = timedelta(seconds=45)
"""The send activity's heartbeat timeout. It heartbeats before every SMTP step, and every
step is bounded by `SmtpConfig.timeout`, which must be shorter (checked at start)."""
STALE_CLAIM_MARGIN = timedelta(seconds=15)
"""How much longer than one SMTP step a claim may stand before its holder counts as dead."""

Progress = Callable[[str], None]


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    use_tls: bool = False
    timeout: float = 30.0
    """Seconds for each SMTP step (connect, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA)."""
    local_hostname: str | None = None
    """The EHLO name; the host's FQDN if unset."""

    def __post_init__(self) -> None:
        longest = (SEND_HEARTBEAT_TIMEOUT - STALE_CLAIM_MARGIN).total_seconds()
        if not 0 < self.timeout <= longest:
            raise ValueError(
                f"the SMTP timeout must be between 0 and {longest:g} s (the send activity's "
                f"heartbeat timeout is {SEND_HEARTBEAT_TIMEOUT.total_seconds():g} s)"
            )


class SmtpMailer:
    """Delivers one `EmailMessage` in one SMTP transaction, one bounded step at a time.

    `progress(step)` runs before every step (the activity heartbeats there). `before_commit`
    runs after the server accepted sender and recipients and before DATA: the last moment
    at which failing still means "not delivered"; it may raise to abandon the transaction.
    5xx refusals raise `PermanentSmtpError`; everything else is left to retry.
    """

    def __init__(self, config: SmtpConfig) -> None:
        self._config = config
        # aiosmtplib would resolve the EHLO name (a DNS lookup) on every connection.
        self._local_hostname = config.local_hostname or socket.getfqdn()

    @property
    def step_timeout(self) -> timedelta:
        return timedelta(seconds=self._config.timeout)

    async def send(
        self,
        message: EmailMessage,
        before_commit: Callable[[], Awaitable[None]],
        progress: Progress = lambda _step: None,
    ) -> None:
        cfg = self._config
        sender = extract_sender(message)
        recipients = extract_recipients(message)
        if sender is None or not recipients:
            raise ApplicationError(
                "message has no sender or recipient", type=PERMANENT_SMTP_ERROR, non_retryable=True
            )
        # Connect does only TCP (and implicit TLS) and the greeting: every later command is a
        # step of its own, each bounded by the timeout, each preceded by a heartbeat.
        client = aiosmtplib.SMTP(
            hostname=cfg.host,
            port=cfg.port,
            start_tls=False,
            use_tls=cfg.use_tls,
            timeout=cfg.timeout,
            local_hostname=self._local_hostname,
        )
        try:
            progress("connect")
            await client.connect()
            try:
                progress("ehlo")
                await client.ehlo()
                if cfg.starttls:
                    progress("starttls")
                    await client.starttls()
                    progress("ehlo")
                    await client.ehlo()
                if cfg.username is not None and cfg.password is not None:
                    progress("auth")
                    await client.login(cfg.username, cfg.password)
                progress("mail")
                await client.mail(sender)
                for recipient in recipients:
                    progress("rcpt")
                    await client.rcpt(recipient)
                await before_commit()
                progress("data")
                await client.data(flatten_message(message))
                # Delivered: a failing goodbye changes nothing.
                with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                    await client.quit()
            finally:
                if client.is_connected:
                    client.close()
        except aiosmtplib.SMTPResponseException as err:
            if 500 <= err.code < 600:
                raise ApplicationError(
                    f"SMTP {err.code}: {err.message}",
                    type=PERMANENT_SMTP_ERROR,
                    non_retryable=True,
                ) from err
            raise
