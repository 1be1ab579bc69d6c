"""What the email activity adds before rendering: brand, links, local times, words."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from activities.letterhead import Letterhead, business_days_words, duration_words, local_time
from activities.rendering import TemplateRenderer
from domain.policy.customer import BrandSpec
from domain.ticket.notifications import Notification
from domain.ticket.survey_links import verify

SECRET = b"letterhead secret"


def notification(template: str, language: str = "en", **context: Any) -> Notification:
    return Notification(
        key=f"TKT-000007/5/{template}/ana@example.com",
        ticket_id="TKT-000007",
        seq=5,
        template=template,
        language=language,
        recipient="ana@example.com",
        message_id=f"<TKT-000007.5.{template}@desk.example>",
        context={"ticket_id": "TKT-000007", "subject": "Export", "priority": "P2",
                 "status": "open", "requester_name": None, **context},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("seconds", "language", "words"),
    [
        (4 * 3600, "en", "4 hours"),
        (3600, "en", "1 hour"),
        (90 * 60, "en", "1 hour and 30 minutes"),
        (3 * 86400, "es", "3 días"),
        (86400 + 2 * 3600, "fr", "1 jour et 2 heures"),
        (8 * 3600, "sq", "8 orë"),
        (2 * 3600, "mk", "2 часа"),
        (30 * 60, "ms-MY", "30 minit"),
        (20, "en", "1 minute"),
        (4 * 3600, "xx", "4 hours"),
    ],
)
def test_a_target_in_words_of_the_language(seconds: int, language: str, words: str) -> None:
    assert duration_words(seconds, language) == words


def test_a_due_time_in_the_customers_time_zone() -> None:
    due = datetime(2026, 11, 30, 13, 0, tzinfo=UTC).isoformat()
    assert local_time(due, "Europe/Madrid") == "2026-11-30 14:00 (Europe/Madrid)"
    assert local_time(due, "America/New_York") == "2026-11-30 08:00 (America/New_York)"
    assert local_time(due, "Not/A_Zone") == "2026-11-30 13:00 (UTC)"


def test_the_brand_link_and_promise_are_added_and_render() -> None:
    letterhead = Letterhead(
        brand=BrandSpec(name="DataFlow Support", manager_name="Dana Reyes"),
        portal_url="https://help.dataflow.example/",
    )
    ack = notification(
        "acknowledgment",
        language="es",
        plan="enterprise",
        timezone="Europe/London",
        due_at="2026-11-30T13:00:00+00:00",
        due_metric="first_response",
        target_seconds=4 * 3600,
        first_response_due_at="2026-11-30 13:00 UTC",
    )
    context = letterhead.context(ack)
    assert context["ticket_url"] == "https://help.dataflow.example/tickets/TKT-000007"
    assert context["brand_signature"] == "DataFlow Support"  # the name when no signature
    assert context["due_at_local"] == "2026-11-30 13:00 (Europe/London)"
    assert context["target_words"] == "4 horas"
    text = TemplateRenderer().render("acknowledgment", "es", context).text
    assert "Gracias por escribir a DataFlow Support" in text
    assert "un agente le responderá en un plazo de 4 horas" in text
    assert "https://help.dataflow.example/tickets/TKT-000007" in text


def test_a_notification_from_before_these_values_still_renders() -> None:
    old = notification("acknowledgment", first_response_due_at=None)
    rendered = TemplateRenderer().render("acknowledgment", "en", Letterhead().context(old))
    assert "Thank you for contacting us." in rendered.text
    assert "None" not in rendered.text


def test_the_internal_alert_gets_the_ticket_link_the_workflow_could_not_know() -> None:
    alert = notification("escalation_alert", ticket_url=None)
    context = Letterhead(portal_url="https://desk.example").context(alert)
    assert context["ticket_url"] == "https://desk.example/tickets/TKT-000007"


def test_the_survey_gets_signed_links_that_expire_with_its_window() -> None:
    expires = "2026-12-07T12:00:00+00:00"
    survey = notification("csat_survey", survey_url=None, scores=[], links_expire_at=expires)
    letterhead = Letterhead(survey_url="https://api.desk.example", survey_secret=SECRET)
    scores = letterhead.context(survey)["scores"]
    assert [score for score, _ in scores] == [1, 2, 3, 4, 5]
    token = scores[0][1].removeprefix("https://api.desk.example/csat/").split("?")[0]
    named = verify(SECRET, token, datetime(2026, 12, 1, tzinfo=UTC))
    assert (named.ticket_id, named.seq) == ("TKT-000007", 5)
    assert named.expires_at == datetime.fromisoformat(expires)
    # Without a secret (or a URL) no links: the survey asks for a reply instead.
    assert Letterhead(survey_url="https://api.desk.example").context(survey)["scores"] == []


def test_a_target_of_business_days_is_said_in_business_days() -> None:
    assert business_days_words(3, "en") == "3 business days"
    assert business_days_words(1, "es") == "1 día hábil"
    assert business_days_words(7, "fr-CA") == "7 jours ouvrés"
    ack = notification(
        "acknowledgment", target_seconds=27 * 3600, target_business_days=3, due_at=None
    )
    assert Letterhead().context(ack)["target_words"] == "3 business days"
