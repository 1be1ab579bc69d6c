"""send_email against a real SMTP server (aiosmtpd in-process) and a real store."""

from __future__ import annotations

import aiosmtplib
import pytest
from temporalio.exceptions import ApplicationError

from activities.email import PERMANENT_SMTP_ERROR, EmailActivities, SmtpConfig, SmtpMailer
from activities.rendering import TemplateRenderer
from domain.notifications import Notification, message_id, notification_key
from store.engine import SessionMaker
from tests.conftest import Mailbox


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
    from tests.conftest import free_port

    mailer = SmtpMailer(SmtpConfig(host="127.0.0.1", port=free_port(), timeout=2))
    activities = EmailActivities(sessions, mailer, TemplateRenderer(), "support@desk.example")
    with pytest.raises((OSError, aiosmtplib.SMTPException)) as caught:
        await activities.send_email(_notification())
    assert not (
        isinstance(caught.value, ApplicationError) and caught.value.type == PERMANENT_SMTP_ERROR
    )


def test_unknown_language_falls_back_to_english() -> None:
    rendered = TemplateRenderer().render("acknowledgment", "xx", _notification().context)
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
