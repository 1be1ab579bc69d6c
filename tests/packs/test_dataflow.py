"""DataFlow (seed 004, `config/packs/dataflow`) walked on the time-skipping server with real
SMTP: a P0 outage for an Enterprise customer (1 h response, DevOps at 30 min with the CTO and
the Support Director told, the breach apology), a UK customer's P1 that starts at 9 AM
London time and reaches Engineering 2 business hours later, Spanish for Enterprise only, the
channels a plan is entitled to, and the survey 24 h after closing whose low score goes to the
Support Manager."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
from temporalio.testing import WorkflowEnvironment

from domain.ticket.requests import TicketCreate
from tests.conftest import Mailbox
from tests.packs.desk import open_desk, recipient, score_link, subject_of, text_of, to

CUSTOMER = "jordan@customer1036.example"
LONDON = ZoneInfo("Europe/London")


def _at(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(UTC)


async def test_p0_enterprise_outage_reaches_devops_at_30_minutes_then_the_apology(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    async with open_desk("dataflow", time_env, task_queue, database_url, smtp) as desk:
        ticket = await desk.create(
            {
                "requester": {
                    "email": CUSTOMER,
                    "name": "Jordan Blake",
                    "customer_id": "1036",
                    "plan": "enterprise",
                },
                "subject": "Platform outage: Error 503 on every dashboard",
                "description": "All dashboards and the API answer 503 Service Unavailable.",
                "channel": "phone",
                "priority": "P0",
            }
        )
        ticket_id = ticket["id"]
        # SLA time counts whole seconds.
        created = _at(ticket["created_at"]).replace(microsecond=0)
        # P0 in the API: accepted, kept, listed and filtered by.
        assert (ticket["priority"], ticket["channel"]) == ("P0", "phone")
        assert ticket["sla_policy"]["policy_id"] == "p0"
        first_response = ticket["sla"]["first_response"]
        assert first_response["target_seconds"] == 3600
        assert _at(first_response["due_at"]) == created + timedelta(hours=1)
        assert ticket["sla"]["resolution"]["target_seconds"] == 4 * 3600
        listed = await desk.http.get(
            "/v1/tickets", params={"priority": "P0"}, headers={"Authorization": "Bearer sam-token"}
        )
        assert listed.status_code == 200, listed.text
        assert [t["id"] for t in listed.json()["items"]] == [ticket_id]
        assert [t["priority"] for t in listed.json()["items"]] == ["P0"]

        # Template 1: the target in words, the plan, the priority by id and label.
        [ack] = await desk.wait_for_mail(to(CUSTOMER))
        assert subject_of(ack).startswith(f"[{ticket_id}] Your support request")
        acknowledgment = text_of(ack)
        for phrase in ("DataFlow Support", "P0", "Critical Outage", "1 hour", "Enterprise plan"):
            assert phrase in acknowledgment, phrase

        # "Escalate to DevOps within 30 minutes ... Notify CTO and Support Director."
        await time_env.sleep(timedelta(minutes=31))
        [escalated] = await desk.wait_for_events(ticket_id, "escalated", 1)
        assert escalated.data["to"] == 4
        assert escalated.at.replace(tzinfo=UTC) == created + timedelta(minutes=30)
        for address in (
            "devops-incidents@dataflow.example",
            "cto@dataflow.example",
            "support-director@dataflow.example",
        ):
            [alert] = await desk.wait_for_mail(to(address))
            assert subject_of(alert).startswith(f"[ESCALATION: DevOps] [{ticket_id}]")
        assert (await desk.ticket(ticket_id))["team"] == "devops"
        # Template 2 tells the customer.
        [notice] = await desk.wait_for_mail(
            lambda m: to(CUSTOMER)(m) and "Update on your support request" in subject_of(m)
        )
        assert "DevOps" in text_of(notice)

        # Nobody answered within the hour: Template 3, signed by the Support Manager; the
        # ticket stays with DevOps (a breach does not skip along the path).
        await time_env.sleep(timedelta(minutes=30))
        [breach] = await desk.wait_for_events(ticket_id, "sla_breached", 1)
        assert breach.data["metric"] == "first_response"
        assert breach.at.replace(tzinfo=UTC) == created + timedelta(hours=1)
        [apology] = await desk.wait_for_mail(
            lambda m: to(CUSTOMER)(m) and "Apology for our delayed response" in subject_of(m)
        )
        assert f"[{ticket_id}]" in subject_of(apology)
        assert "did not respond to your ticket" in text_of(apology)
        assert "Dana Reyes, DataFlow Support" in text_of(apology)
        # Template 3's gesture: the policy's $50 breach credit for Enterprise.
        assert "we've credited $50.00 to your account" in text_of(apology)
        await time_env.sleep(timedelta(minutes=10))
        after = await desk.ticket(ticket_id)
        assert (after["escalation_level"], after["team"]) == (4, "devops")
        assert len(await desk.wait_for_events(ticket_id, "escalated", 1)) == 1


def _working_monday(after: datetime) -> date:
    """The next Monday after `after` with Monday to Wednesday working days in England."""
    uk = holidays.country_holidays("GB", years=range(after.year, after.year + 2))
    day = after.date() + timedelta(days=1)
    while day.weekday() != 0 or any(day + timedelta(days=n) in uk for n in range(3)):
        day += timedelta(days=1)
    return day


async def test_uk_p1_starts_at_9_am_london_and_reaches_engineering_2_hours_later(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    monday = _working_monday(await time_env.get_current_time())
    created = datetime.combine(monday, time(7, 30), LONDON).astimezone(UTC)
    await time_env.sleep(created - await time_env.get_current_time())
    ticket_id = f"TKT-{uuid.uuid4().hex[:8]}"
    body = TicketCreate.model_validate(
        {
            "requester": {
                "email": "amelia@customer1009.example",
                "name": "Amelia Hughes",
                "customer_id": "1009",
                "plan": "enterprise",
                "timezone": "Europe/London",
                "country": "GB",
            },
            "subject": "SSO-9001: Login Failure",
            "description": "Nobody at our office can sign in with SSO since this morning.",
            "channel": "email",
        }
    )
    async with open_desk("dataflow", time_env, task_queue, database_url, smtp) as desk:
        await desk.start(ticket_id, created, body)
        ticket = await desk.ticket(ticket_id)
        # Routing reads the error code: P1. The UK calendar, by the requester's country.
        assert ticket["priority"] == "P1"
        assert ticket["sla_policy"]["policy_id"] == "p1-enterprise"
        assert ticket["sla_policy"]["calendar"] == "uk-business"

        def london(hour: int, days: int = 0) -> datetime:
            return datetime.combine(monday + timedelta(days=days), time(hour), LONDON).astimezone(
                UTC
            )

        # "4-hour P1 SLA starts at 9 AM GMT".
        assert _at(ticket["sla"]["first_response"]["due_at"]) == london(13)
        # Resolution, 24 business hours: Monday, Tuesday and Wednesday, 09:00-17:00.
        assert _at(ticket["sla"]["resolution"]["due_at"]) == london(17, days=2)
        [ack] = await desk.wait_for_mail(to("amelia@customer1009.example"))
        assert "4 hours" in text_of(ack)
        assert "13:00" in text_of(ack)  # the due time on the customer's clock

        # "Escalate to Engineering within 2 hours if unresolved ... Notify Support Manager."
        await desk.act("maria", ticket_id, "reply", {"body": "We are looking at your SSO setup."})
        await time_env.sleep(
            london(11, 0) + timedelta(minutes=5) - await time_env.get_current_time()
        )
        [escalated] = await desk.wait_for_events(ticket_id, "escalated", 1)
        assert (escalated.data["to"], escalated.at.replace(tzinfo=UTC)) == (3, london(11))
        await desk.wait_for_mail(to("engineering@dataflow.example"))
        await desk.wait_for_mail(to("dana@dataflow.example"))
        assert (await desk.ticket(ticket_id))["team"] == "engineering"


async def test_spanish_and_french_are_for_enterprise_and_phone_for_paid_plans(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    def body(email: str, plan: str) -> dict[str, object]:
        return {
            "requester": {"email": email, "name": "Lucía Gómez", "plan": plan, "language": "es"},
            "subject": "COL-11001: los comentarios no cargan",
            "description": "Los comentarios del panel no cargan desde ayer.",
            "channel": "phone",
        }

    async with open_desk("dataflow", time_env, task_queue, database_url, smtp) as desk:
        enterprise = await desk.create(body("lucia@customer1011.example", "enterprise"))
        starter = await desk.create(body("pablo@customer1002.example", "starter"))
        # "Phone ... (Professional/Enterprise)": a Starter customer's call is taken as email.
        assert enterprise["channel"] == "phone"
        assert starter["channel"] == "email"
        assert enterprise["priority"] == starter["priority"] == "P3"
        [spanish] = await desk.wait_for_mail(to("lucia@customer1011.example"))
        assert subject_of(spanish).startswith(f"[{enterprise['id']}] Su solicitud de soporte")
        assert "Estimado/a Lucía Gómez" in text_of(spanish)
        assert "(P3, Impacto bajo)" in text_of(spanish)  # the label in Spanish (`labels.es`)
        # "Spanish, French: Available for Enterprise customers": Starter is answered in English.
        [english] = await desk.wait_for_mail(to("pablo@customer1002.example"))
        assert subject_of(english).startswith(f"[{starter['id']}] Your support request")
        assert "Dear Lucía Gómez" in text_of(english)
        french = await desk.create(
            {
                "requester": {
                    "email": "camille@customer1033.example",
                    "name": "Camille Durand",
                    "plan": "enterprise",
                    "language": "fr",
                    "timezone": "Europe/Paris",
                },
                "subject": "MOB-6006 : l'application ne se charge plus",
                "description": "L'application mobile reste sur l'écran de chargement.",
                "channel": "chat",
            }
        )
        assert (french["priority"], french["channel"]) == ("P2", "chat")
        [ack] = await desk.wait_for_mail(to("camille@customer1033.example"))
        assert subject_of(ack).startswith(f"[{french['id']}] Votre demande d'assistance")
        for phrase in (
            "Bonjour Camille Durand",
            "(P2, Impact modéré)",
            "offre Enterprise",
            "12 heures",
        ):
            assert phrase in text_of(ack), phrase


async def test_survey_24_hours_after_closing_and_a_low_score_goes_to_the_support_manager(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    customer = "sam.lee@customer1008.example"
    async with open_desk("dataflow", time_env, task_queue, database_url, smtp) as desk:
        ticket = await desk.create(
            {
                "requester": {"email": customer, "name": "Sam Lee", "plan": "professional"},
                "subject": "DR-3003: Refresh Timeout",
                "description": "Scheduled refreshes time out every night.",
                "channel": "email",
                "priority": "P3",
            }
        )
        ticket_id = ticket["id"]
        await desk.act("sam", ticket_id, "reply", {"body": "We raised the refresh timeout."})
        await desk.act("sam", ticket_id, "resolve", {"resolution": "Timeout raised to 10 min."})
        await desk.act("sam", ticket_id, "close", {})
        [closed] = await desk.wait_for_events(ticket_id, "closed", 1)
        await time_env.sleep(timedelta(hours=24, minutes=5))
        [requested] = await desk.wait_for_events(ticket_id, "csat_requested", 1)
        assert requested.at == closed.at + timedelta(hours=24)
        [survey] = await desk.wait_for_mail(
            lambda m: (
                to(customer)(m) and "[" + ticket_id + "]" in subject_of(m) and "csat" in text_of(m)
            )
        )
        page = await desk.http.get(score_link(survey, 2))
        assert page.status_code == 200, page.text
        # "Escalate negative feedback (<3/5) to Support Manager within 12 hours" and Template 5.
        [escalated] = await desk.wait_for_events(ticket_id, "escalated", 1)
        assert escalated.data["to"] == 1
        await desk.wait_for_mail(to("support-managers@dataflow.example"))
        [followup] = await desk.wait_for_mail(
            lambda m: to(customer)(m) and "make things right" in subject_of(m)
        )
        assert "(your score: 2 out of 5)" in text_of(followup)
        assert "Dana Reyes, DataFlow Support" in text_of(followup)
        view = await desk.ticket(ticket_id)
        assert view["sla"]["csat_followup"]["target_seconds"] == 12 * 3600
    assert recipient(followup) == customer
