"""PlumberLeads (seed 002, `config/packs/plumberleads`) walked on the time-skipping server with
real SMTP: Tier 1's New York hours with Saturday, US holidays, resolution in business days,
escalation on SLA breach risk, the 24/7 emergency path to the on-call engineer, and the
feedback form that goes to the product team."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
from temporalio.testing import WorkflowEnvironment

from domain.ticket.requests import TicketCreate
from tests.conftest import Mailbox
from tests.packs.desk import open_desk, recipient, score_link, subject_of, text_of, to

NEW_YORK = ZoneInfo("America/New_York")
CUSTOMER = "joe@joesplumbing.example"


def _friday_before_a_monday_holiday(after: datetime) -> date:
    """The first Friday after `after` that is a working day followed by a working Saturday
    and a US holiday on Monday (Martin Luther King Jr. Day, Memorial Day, ...)."""
    us = holidays.country_holidays("US", years=range(after.year, after.year + 3))
    day = after.date() + timedelta(days=1)
    while not (
        day.weekday() == 4
        and day not in us
        and day + timedelta(days=1) not in us
        and day + timedelta(days=3) in us
        and day + timedelta(days=4) not in us
        and day + timedelta(days=5) not in us
    ):
        day += timedelta(days=1)
    return day


def _ny(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), NEW_YORK).astimezone(UTC)


def _due(ticket: dict[str, object], metric: str) -> datetime:
    clocks = ticket["sla"]
    assert isinstance(clocks, dict)
    return datetime.fromisoformat(clocks[metric]["due_at"]).astimezone(UTC)


async def test_p3_on_friday_evening_before_a_holiday_resolves_in_three_business_days(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    friday = _friday_before_a_monday_holiday(await time_env.get_current_time())
    saturday, tuesday, wednesday = (friday + timedelta(days=n) for n in (1, 4, 5))
    created = _ny(friday, 19, 30)
    await time_env.sleep(created - await time_env.get_current_time())
    ticket_id = f"TKT-{uuid.uuid4().hex[:8]}"
    body = TicketCreate.model_validate(
        {
            "requester": {
                "email": CUSTOMER,
                "name": "Joe Russo",
                "timezone": "America/New_York",
            },
            "subject": "Job alert notifications arrive hours late",
            "description": "Job alerts reach my phone two or three hours after they are sent.",
            "channel": "email",
            "priority": "P3",
        }
    )
    async with open_desk("plumberleads", time_env, task_queue, database_url, smtp) as desk:
        await desk.start(ticket_id, created, body)
        ticket = await desk.ticket(ticket_id)
        assert ticket["sla_policy"]["policy_id"] == "p3-medium"
        assert ticket["team"] == "tier1"
        # 8 business hours: Friday 19:30-20:00, then Saturday from 09:00 (Tier 1 works
        # Saturdays 9am-5pm).
        assert _due(ticket, "first_response") == _ny(saturday, 16, 30)
        # 3 business days: Friday (19:30, open) is day 0; Saturday, Tuesday and Wednesday
        # are the next three open days (Sunday is closed, Monday is the holiday): due at
        # Friday's position, 19:30, on Wednesday. Without the holiday it would be Tuesday.
        assert _due(ticket, "resolution") == _ny(wednesday, 19, 30)
        assert ticket["sla"]["resolution"]["target_seconds"] == (
            30 * 60 + 8 * 3600 + 12 * 3600 + 11 * 3600 + 30 * 60
        )
        [ack] = await desk.wait_for_mail(to(CUSTOMER))
        assert f"[{ticket_id}]" in subject_of(ack)
        acknowledgment = text_of(ack)
        assert "PlumberLeads" in acknowledgment
        # The promise in the customer's own time zone, and the target in words.
        assert f"{saturday:%Y-%m-%d} 16:30" in acknowledgment
        assert "8 hours" in acknowledgment

        # Tier 1 answers on Saturday morning; then nobody updates the customer.
        await time_env.sleep(_ny(saturday, 10) - await time_env.get_current_time())
        await desk.act("tom", ticket_id, "reply", {"body": "We are checking the SMS gateway."})
        await time_env.sleep(_ny(wednesday, 19, 31) - await time_env.get_current_time())
        escalated = await desk.wait_for_events(ticket_id, "escalated", 3)
        # "SLA Breach Risk: Resolution is taking longer than SLA guidelines" escalates:
        # - next update (24 business hours from Saturday 10:00: Saturday 7 h, Tuesday 12 h,
        #   Wednesday 5 h) is at 80 % at Wednesday 08:12 -> Tier 2, breached at 13:00 -> Tier 3;
        # - resolution (32 business hours) is at 80 % (25 h 36 min) at Wednesday 13:06
        #   -> Engineering.
        assert [(e.data["to"], e.at.replace(tzinfo=UTC)) for e in escalated] == [
            (1, _ny(wednesday, 8, 12)),
            (2, _ny(wednesday, 13)),
            (3, _ny(wednesday, 13, 6)),
        ]
        breaches = [e for e in await desk.events(ticket_id) if e.type == "sla_breached"]
        assert [(e.data["metric"], e.at.replace(tzinfo=UTC)) for e in breaches] == [
            ("next_update", _ny(wednesday, 13)),
            ("resolution", _ny(wednesday, 19, 30)),
        ]
        assert (await desk.ticket(ticket_id))["team"] == "engineering"
        await desk.wait_for_mail(to("oncall@plumberleads.example"))
        apologies = await desk.wait_for_mail(
            lambda m: to(CUSTOMER)(m) and "sorry" in subject_of(m).lower(), count=2
        )
        assert len(apologies) == 2
    alerted = {recipient(m) for m in desk.mailbox.messages if "[ESCALATION:" in subject_of(m)}
    assert alerted == {
        "tier2@plumberleads.example",
        "tier3@plumberleads.example",
        "oncall@plumberleads.example",
        "mona@plumberleads.example",
    }
    assert tuesday.weekday() == 1  # the dates above are the ones the comments name


async def test_p1_outage_reaches_the_on_call_engineer_and_management_at_once(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    async with open_desk("plumberleads", time_env, task_queue, database_url, smtp) as desk:
        ticket = await desk.create(
            {
                "requester": {"email": CUSTOMER, "name": "Joe Russo"},
                "subject": "Payment processing down",
                "description": "Nobody on our team can pay for leads since 7 am.",
                "channel": "phone",
            }
        )
        # "P1 - Critical | ... Payment processing down": routing names the priority, the
        # emergency calendar runs 24/7.
        assert ticket["priority"] == "P1"
        assert ticket["sla_policy"]["policy_id"] == "p1-critical"
        assert ticket["sla"]["first_response"]["target_seconds"] == 15 * 60
        await time_env.sleep(timedelta(seconds=30))
        [escalated] = await desk.wait_for_events(ticket["id"], "escalated", 1)
        created = datetime.fromisoformat(ticket["created_at"])
        assert escalated.data["to"] == 3
        assert escalated.at.replace(tzinfo=UTC) - created <= timedelta(seconds=2)
        await desk.wait_for_mail(to("oncall@plumberleads.example"))
        await desk.wait_for_mail(to("mona@plumberleads.example"))
        assert (await desk.ticket(ticket["id"]))["team"] == "engineering"


async def test_the_feedback_form_goes_to_the_product_team_as_p4(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    async with open_desk("plumberleads", time_env, task_queue, database_url, smtp) as desk:
        ticket = await desk.create(
            {
                "requester": {"email": CUSTOMER},
                "subject": "Map view of leads",
                "description": "It would help to see new leads on a map.",
                "channel": "feedback",
            }
        )
        assert (ticket["priority"], ticket["category"], ticket["team"]) == (
            "P4",
            "feature_request",
            "product",
        )
        assert ticket["sla_policy"]["policy_id"] == "p4-low"
        # "P4 ... Updates: As necessary": a reply starts no next-update clock.
        replied = await desk.act("pia", ticket["id"], "reply", {"body": "Thanks, noted."})
        assert set(replied["sla"]) == {"first_response", "resolution"}
        assert replied["sla"]["first_response"]["state"] == "met"


async def test_survey_after_resolving_and_a_3_goes_back_to_tier_2(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    async with open_desk("plumberleads", time_env, task_queue, database_url, smtp) as desk:
        ticket = await desk.create(
            {
                "requester": {"email": CUSTOMER, "name": "Joe Russo"},
                "subject": "Forgot my password",
                "description": "The reset email never arrives.",
                "channel": "email",
                "priority": "P3",
            }
        )
        ticket_id = ticket["id"]
        await desk.act("tom", ticket_id, "reply", {"body": "I sent you a new reset link."})
        await desk.act("tom", ticket_id, "resolve", {"resolution": "Password reset by phone."})
        [resolved] = await desk.wait_for_events(ticket_id, "resolved", 1)
        # "Closure: Ticket marked as resolved; Satisfaction survey sent to user": an hour
        # after resolving, without waiting for the ticket to close.
        await time_env.sleep(timedelta(hours=1, minutes=5))
        [requested] = await desk.wait_for_events(ticket_id, "csat_requested", 1)
        assert requested.at == resolved.at + timedelta(hours=1)
        [survey] = await desk.wait_for_mail(
            lambda m: to(CUSTOMER)(m) and subject_of(m).startswith("How did we do")
        )
        assert "The PlumberLeads Support Team" in text_of(survey)
        page = await desk.http.get(score_link(survey, 3))
        assert page.status_code == 200, page.text
        # "Customer Satisfaction | >90%": a 3 is not satisfied; the team leads follow up.
        [escalated] = await desk.wait_for_events(ticket_id, "escalated", 1)
        assert (escalated.data["to"], escalated.data["trigger"]) == (1, "csat")
        await desk.wait_for_mail(to("tier2@plumberleads.example"))
        [followup] = await desk.wait_for_mail(
            lambda m: to(CUSTOMER)(m) and "make this right" in subject_of(m)
        )
        assert "Mona Hart" in text_of(followup)
        view = await desk.ticket(ticket_id)
        assert view["sla"]["csat_followup"]["target_seconds"] == 10 * 3600
