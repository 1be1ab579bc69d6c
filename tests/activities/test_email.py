"""send_email against a real SMTP server (aiosmtpd in-process) and a real store."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.email import (
    PERMANENT_SMTP_ERROR,
    SEND_HEARTBEAT_TIMEOUT,
    EmailActivities,
    SmtpConfig,
    SmtpMailer,
    outbox_item,
)
from activities.letterhead import Letterhead
from activities.rendering import TemplateRenderer
from domain.ticket.notifications import Notification, message_id, notification_key
from store import outbox
from store.engine import SessionMaker
from tests.conftest import Mailbox, _Handler
from ticketflow.environment import free_port


def _notification(template: str = "acknowledgment", language: str = "en") -> Notification:
    return Notification(
        key=notification_key("TKT-000007", 1, template, "Ana@Example.com"),
        ticket_id="TKT-000007",
        seq=1,
        template=template,
        language=language,
        recipient="ana@example.com",
        recipient_name="Ana Novak",
        message_id=message_id("TKT-000007", 1, template, "desk.example"),
        in_reply_to="<TKT-000007.1.acknowledgment@desk.example>",
        references=["<TKT-000007.1.acknowledgment@desk.example>"],
        context={
            "ticket_id": "TKT-000007",
            "subject": "Invoice <b>missing</b>",
            "priority": "P2",
            "requester_name": "Ana Novak",
            "first_response_due_at": "2026-11-23T10:59+00:00",
            "body": "Here is <script>x</script> the fix",
            "agent_name": "Alice",
        },
    )


@pytest.fixture
def activities(sessions: SessionMaker, smtp: tuple[Mailbox, int]) -> EmailActivities:
    _, port = smtp
    mailer = SmtpMailer(SmtpConfig(host="127.0.0.1", port=port, timeout=5))
    return EmailActivities(sessions, mailer, TemplateRenderer(), "Support <support@desk.example>")


async def test_acknowledgment_is_sent_once_with_threading_headers(
    activities: EmailActivities, smtp: tuple[Mailbox, int]
) -> None:
    box, _ = smtp
    notification = _notification()
    first = await activities.send_email(notification)
    again = await activities.send_email(notification)
    assert (first.status, again.status) == ("sent", "already_sent")
    assert len(box.messages) == 1
    message = box.messages[0]
    assert message["Subject"] == "[TKT-000007] Invoice <b>missing</b>"
    assert message["Message-ID"] == "<TKT-000007.1.acknowledgment@desk.example>"
    assert message["References"] == "<TKT-000007.1.acknowledgment@desk.example>"
    assert message["To"] == "Ana Novak <ana@example.com>"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    assert "first response by 2026-11-23T10:59+00:00" in text.get_content()
    # The HTML part escapes what the customer wrote; the text part keeps it verbatim.
    assert "Invoice &lt;b&gt;missing&lt;/b&gt;" in html.get_content()
    assert "Invoice <b>missing</b>" in text.get_content()


async def test_temporary_refusal_raises_for_retry_then_sends_once(
    activities: EmailActivities, smtp: tuple[Mailbox, int]
) -> None:
    box, _ = smtp
    box.refuse = ["451 4.3.0 try again later"]
    with pytest.raises(Exception, match="451") as caught:
        await activities.send_email(_notification("agent_reply"))
    assert not isinstance(caught.value, ApplicationError)  # retryable by Temporal
    result = await activities.send_email(_notification("agent_reply"))
    assert result.status == "sent"
    assert len(box.messages) == 1
    body = box.messages[0].get_body(preferencelist=("plain",))
    assert body is not None
    assert "the fix" in body.get_content()


async def test_permanent_refusal_is_recorded_and_never_retried(
    activities: EmailActivities, smtp: tuple[Mailbox, int]
) -> None:
    box, _ = smtp
    box.refuse = ["550 5.1.1 no such mailbox"]
    first = await activities.send_email(_notification())
    second = await activities.send_email(_notification())
    assert first.status == "failed"
    assert first.error
    assert "550" in first.error
    assert second.status == "failed"
    assert box.messages == []


async def test_unreachable_server_is_a_retryable_error(sessions: SessionMaker) -> None:
    mailer = SmtpMailer(SmtpConfig(host="127.0.0.1", port=free_port(), timeout=2))
    activities = EmailActivities(sessions, mailer, TemplateRenderer(), "support@desk.example")
    with pytest.raises((OSError, aiosmtplib.SMTPException)) as caught:
        await activities.send_email(_notification())
    assert not (
        isinstance(caught.value, ApplicationError) and caught.value.type == PERMANENT_SMTP_ERROR
    )


def test_unknown_language_falls_back_to_english() -> None:
    # The activity renders with the letterhead's additions (brand, links, local times).
    context = Letterhead().context(_notification())
    rendered = TemplateRenderer().render("acknowledgment", "xx", context)
    assert rendered.subject.startswith("[TKT-000007]")
    assert "Thank you for contacting us" in rendered.text


async def test_a_template_that_cannot_render_fails_once_and_is_not_retried(
    activities: EmailActivities, smtp: tuple[Mailbox, int]
) -> None:
    box, _ = smtp
    broken = _notification().model_copy(update={"template": "no_such_template"})
    result = await activities.send_email(broken)
    again = await activities.send_email(broken)
    assert result.status == "failed"
    assert result.error is not None
    assert "no_such_template" in result.error
    assert again.status == "failed"
    assert box.messages == []


class _SlowHandler(_Handler):
    """A real SMTP server that takes its time over RCPT and DATA, as a loaded relay does."""

    async def handle_RCPT(  # type: ignore[no-untyped-def]
        self, server, session, envelope, address, rcpt_options
    ) -> str:
        await asyncio.sleep(0.5)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await asyncio.sleep(1.5)
        return await super().handle_DATA(server, session, envelope)


async def test_two_attempts_at_once_against_a_slow_server_send_one_message(
    sessions: SessionMaker,
) -> None:
    """A retry beside a zombie attempt (or two workflow runs) sending the same notification
    at the same moment: the outbox claim lets exactly one reach DATA."""
    box, port = Mailbox(), free_port()
    controller = Controller(
        _SlowHandler(box, asyncio.get_running_loop()), hostname="127.0.0.1", port=port
    )
    controller.start()
    try:
        mailer = SmtpMailer(SmtpConfig(host="127.0.0.1", port=port, timeout=5))
        activities = EmailActivities(sessions, mailer, TemplateRenderer(), "support@desk.example")
        outcomes = await asyncio.gather(
            activities.send_email(_notification()),
            activities.send_email(_notification()),
            return_exceptions=True,
        )
        later = await activities.send_email(_notification())
        await asyncio.sleep(0.5)  # a second DATA, had there been one, would have landed
    finally:
        controller.stop()
    assert len(box.messages) == 1
    statuses = sorted(
        str(o.type) if isinstance(o, ApplicationError) else getattr(o, "status", repr(o))
        for o in outcomes
    )
    # The loser saw the winner inside DATA (retry later) or, if slower, its outcome.
    assert statuses in (["SendInProgress", "sent"], ["already_sent", "sent"])
    assert later.status == "already_sent"


async def test_the_send_heartbeats_before_every_smtp_step(
    activities: EmailActivities, smtp: tuple[Mailbox, int]
) -> None:
    steps: list[str] = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: steps.append(str(details[0]))
    result = await env.run(activities.send_email, _notification())
    assert result.status == "sent"
    assert steps == ["connect", "ehlo", "mail", "rcpt", "claim", "data"]


def test_the_smtp_timeout_must_be_shorter_than_the_heartbeat_timeout() -> None:
    with pytest.raises(ValueError, match="heartbeat timeout"):
        SmtpConfig(host="127.0.0.1", port=25, timeout=SEND_HEARTBEAT_TIMEOUT.total_seconds())


async def test_a_claim_whose_holder_died_in_data_is_never_sent_again(
    activities: EmailActivities, sessions: SessionMaker, smtp: tuple[Mailbox, int]
) -> None:
    box, _ = smtp
    notification = _notification()
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    async with sessions.begin() as session:
        await outbox.claim(session, outbox_item(notification), token="dead-worker", at=long_ago)
    result = await activities.send_email(notification)
    async with sessions() as session:
        entry = await outbox.get(session, key=notification.key)
    assert result.status == "already_sent"
    assert box.messages == []
    assert entry is not None
    assert entry.status == "sent"
    assert entry.error is not None
    assert "unconfirmed" in entry.error
