"""The Easy e-Invoice desk (seed 001) run from `config/packs/easy-einvoice` on the
time-skipping server with real SMTP: its SLA framework on the Kuala Lumpur business
calendar, the escalation at 80 % of a target, its five levels, Bahasa Malaysia emails."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
from temporalio.testing import WorkflowEnvironment

from domain.enums import Metric
from tests.conftest import Mailbox, eventually
from tests.packs.desk import PORTAL_URL, PUBLIC_URL, open_desk, recipient, score_link, text_of
from tests.packs.scenario import escalations, open_ticket, received, sent_to, skip_to
from workflows.ticket import TicketWorkflow

KL = ZoneInfo("Asia/Kuala_Lumpur")
CUSTOMER = "aminah@kedai-runcit.example"


def _ticket_id() -> str:
    return f"TKT-{uuid.uuid4().hex[:8]}"


def _kl(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=KL).astimezone(UTC)


def _midweek_holiday(after: date) -> date:
    """The first Kuala Lumpur public holiday after `after` that falls Tuesday to Thursday
    between two ordinary working days."""
    days = holidays.country_holidays("MY", subdiv="14", years=range(after.year, after.year + 3))
    day = after + timedelta(days=2)
    while not (
        day in days
        and day.weekday() in (1, 2, 3)
        and day - timedelta(days=1) not in days
        and day + timedelta(days=1) not in days
    ):
        day += timedelta(days=1)
    return day


def _requester(language: str, plan: str = "standard") -> dict[str, str]:
    return {
        "email": CUSTOMER,
        "name": "Aminah Binti Yusof",
        "plan": plan,
        "language": language,
        "timezone": "Asia/Kuala_Lumpur",
    }


async def test_p2_escalates_to_tier_2_at_80_percent_in_malay_across_a_holiday(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    box, _ = smtp
    env = time_env
    holiday = _midweek_holiday((await env.get_current_time()).astimezone(KL).date())
    eve, after = holiday - timedelta(days=1), holiday + timedelta(days=1)
    created = _kl(eve, 17)
    await skip_to(env, created)
    ticket_id = _ticket_id()
    async with open_desk("easy-einvoice", env, task_queue, database_url, smtp) as desk:
        handle = await open_ticket(
            desk,
            ticket_id,
            created,
            {
                "requester": _requester("ms"),
                "subject": "Integrasi API tidak berfungsi",
                "description": "Sejak pagi tadi invois kami tidak dihantar melalui API.",
                "channel": "email",
                "priority": "P2",
            },
        )
        state = await handle.query(TicketWorkflow.state)
        # "P2 High | First Response 2 hours": one hour on the eve, none on the holiday, the
        # second from 09:00 on the next working day. 80 % (96 minutes) is 09:36 that day.
        assert state.sla.policy_id == "p2-high"
        assert state.team == "technical"  # "api" / "integration" -> technical specialist
        assert state.clocks[Metric.FIRST_RESPONSE].due_at == _kl(after, 10)
        # "Resolution 24 hours" read as one business day: the same time on the next one.
        assert state.clocks[Metric.RESOLUTION].due_at == _kl(after, 17)
        await skip_to(env, _kl(after, 9, 35))
        assert await escalations(database_url, ticket_id) == []
        await skip_to(env, _kl(after, 9, 40))
        await eventually(lambda: received(box, "tier2@easy-einvoice.example"))
        # The tier 2 specialist answers before the first response is due, and resolves.
        await desk.act(
            "daniel", ticket_id, "reply", {"body": "Kunci API anda telah dijana semula."}
        )
        await desk.act("daniel", ticket_id, "resolve", {"resolution": "Kunci API dijana semula."})
        # "E[Resolve] --> I[Customer Feedback]": the survey an hour after resolving.
        await env.sleep(timedelta(hours=1, minutes=5))
        await eventually(lambda: received(box, CUSTOMER, 5))
        await env.sleep(timedelta(minutes=30))  # anything duplicated would arrive now
        state = await handle.query(TicketWorkflow.state)
        # One click on "5" in the survey records the score.
        [survey_mail] = [m for m in sent_to(box, CUSTOMER) if "Bagaimana" in str(m["Subject"])]
        answered = await desk.http.get(score_link(survey_mail, 5))
        assert answered.status_code == 200
        rated = await desk.ticket(ticket_id)
    assert rated["csat_score"] == 5
    assert await escalations(database_url, ticket_id) == [
        (0, 1, "at_risk:first_response", _kl(after, 9, 36)),
    ]
    assert state.escalation_level == 1
    assert state.team == "technical"
    assert state.clocks[Metric.FIRST_RESPONSE].breached_at is None
    # Nobody above tier 2 heard of it; tier 2 heard once.
    internal = [recipient(m) for m in box.messages if recipient(m) != CUSTOMER]
    assert internal == ["tier2@easy-einvoice.example"]
    # The customer, in Malay: acknowledgment, escalation notice, the reply, the resolution
    # and the survey, each once.
    # (A subject past 78 characters is folded right after "Subject:" by the stdlib, and
    # read back with a leading space: hence the strip.)
    to_customer = {str(m["Subject"]).strip().split(" [")[0]: m for m in sent_to(box, CUSTOMER)}
    assert len(to_customer) == len(sent_to(box, CUSTOMER)) == 5
    ack = to_customer["Kami telah menerima permintaan sokongan anda - Tiket"]
    assert str(ack["Subject"]).endswith(f"[{ticket_id}]")
    due = f"{after:%Y-%m-%d} 10:00 (Asia/Kuala_Lumpur)"
    assert f"Jangkaan masa maklum balas: 2 jam (selewat-lewatnya {due})" in text_of(ack)
    assert "Tahap keutamaan: Tinggi" in text_of(ack)
    assert f"{PORTAL_URL}/tickets/{ticket_id}" in text_of(ack)
    assert text_of(ack).rstrip().endswith("Pasukan Sokongan Easy e-Invoice")
    notice = to_customer["Kes anda telah dirujuk:"]
    assert "kepada pasukan pakar teknikal kami" in text_of(notice)
    assert f"selewat-lewatnya pada {due}" in text_of(notice)
    assert "Kunci API anda telah dijana semula." in text_of(to_customer["Re:"])
    assert "Kunci API dijana semula." in text_of(to_customer["Selesai:"])
    survey = text_of(to_customer["Bagaimana perkhidmatan kami?"])
    assert "sangat berpuas hati" in survey
    assert f"{PUBLIC_URL}/csat/" in survey
    assert all("Salam sejahtera" in text_of(m) for m in to_customer.values())


async def test_daily_and_weekly_updates_count_working_days(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    """ "Customer Update: ... P3 Daily, P4 Weekly": after each answer the next update is owed
    a working day (P3) or a working week (P4) later, at the same time of day, skipping the
    weekend and a Malaysian holiday; P4 "Resolution: 7 days" is seven working days."""
    env = time_env
    holiday = _midweek_holiday((await env.get_current_time()).astimezone(KL).date())
    eve = holiday - timedelta(days=1)
    created = _kl(eve, 11)
    await skip_to(env, created)
    tickets = {"P3": _ticket_id(), "P4": _ticket_id()}
    async with open_desk("easy-einvoice", env, task_queue, database_url, smtp) as desk:
        handles = {
            priority: await open_ticket(
                desk,
                ticket_id,
                created,
                {
                    "requester": _requester("ms"),
                    "subject": "Cadangan: eksport laporan bulanan",
                    "description": "Boleh tambah eksport PDF untuk laporan bulanan?",
                    "channel": "email",
                    "priority": priority,
                },
            )
            for priority, ticket_id in tickets.items()
        }
        await skip_to(env, _kl(eve, 11, 30))
        states = {}
        for priority, handle in handles.items():
            reply = {"body": "Terima kasih, kami sedang menelitinya."}
            await desk.act("aisyah", tickets[priority], "reply", reply)
            states[priority] = await handle.query(TicketWorkflow.state)
    p3, p4 = states["P3"], states["P4"]
    # The reply is at 11:30 server time plus however long the update took: to the minute.
    p3_due = p3.clocks[Metric.NEXT_UPDATE].due_at
    p4_due = p4.clocks[Metric.NEXT_UPDATE].due_at
    assert p3_due is not None
    assert p4_due is not None
    assert p3_due.replace(second=0) == _kl(_working_days_after(eve, 1), 11, 30)
    assert p4_due.replace(second=0) == _kl(_working_days_after(eve, 5), 11, 30)
    assert p4.clocks[Metric.RESOLUTION].due_at == _kl(_working_days_after(eve, 7), 11)
    assert p3.clocks[Metric.RESOLUTION].due_at == _kl(_working_days_after(eve, 3), 11)


def _working_days_after(day: date, count: int) -> date:
    """The `count`-th Monday-to-Friday date after `day` that is no Kuala Lumpur holiday."""
    days = holidays.country_holidays("MY", subdiv="14", years=range(day.year, day.year + 2))
    while count:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in days:
            count -= 1
    return day


async def test_critical_reaches_management_within_the_hour_around_the_clock(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    """P1 on the emergency channel at 03:00 on a Sunday: "critical_issue" -> management
    "within 1 hour", notifying the support manager, the account manager and the executive
    team; the 30-minute first response breaches and apologises, without climbing."""
    box, _ = smtp
    env = time_env
    today = (await env.get_current_time()).astimezone(KL).date()
    sunday = today + timedelta(days=(6 - today.weekday()) % 7 or 7)
    created = _kl(sunday, 3)
    await skip_to(env, created)
    ticket_id = _ticket_id()
    async with open_desk("easy-einvoice", env, task_queue, database_url, smtp) as desk:
        handle = await open_ticket(
            desk,
            ticket_id,
            created,
            {
                "requester": _requester("en", plan="premium"),
                "subject": "Cannot submit invoices to MyInvois",
                "description": "Every submission fails since midnight.",
                "channel": "emergency",
            },
        )
        state = await handle.query(TicketWorkflow.state)
        assert state.priority == "P1"
        assert state.clocks[Metric.FIRST_RESPONSE].due_at == created + timedelta(minutes=30)
        await skip_to(env, created + timedelta(hours=1, minutes=5))
        await eventually(lambda: received(box, "executive@easy-einvoice.example"))
        await env.sleep(timedelta(minutes=10))  # anything duplicated would arrive now
        state = await handle.query(TicketWorkflow.state)
    assert await escalations(database_url, ticket_id) == [
        (0, 3, "unresolved", created + timedelta(hours=1)),
    ]
    internal = sorted(recipient(m) for m in box.messages if recipient(m) != CUSTOMER)
    assert internal == sorted(
        [
            # "MyInvois" routes to the compliance experts: their lead hears of the first
            # response at 80 % (03:24) and of its breach (03:30), which does not climb.
            "siti@easy-einvoice.example",
            "siti@easy-einvoice.example",
            # 04:00: "support_manager + account_manager + executive_team".
            "support-manager@easy-einvoice.example",
            "rashid@easy-einvoice.example",
            "account-manager@easy-einvoice.example",
            "executive@easy-einvoice.example",
        ]
    )
    assert state.team == "management"
    subjects = sorted(str(m["Subject"]).strip() for m in sent_to(box, CUSTOMER))
    assert subjects == sorted(
        [
            f"We've received your support request - Ticket [{ticket_id}]",
            f"We are sorry for the delay: [{ticket_id}] Cannot submit invoices to MyInvois",
            f"Your case has been escalated: [{ticket_id}] Cannot submit invoices to MyInvois",
        ]
    )


async def test_legal_action_in_malay_goes_to_the_executive_level(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    """A standard customer phones ("Phone Support (Premium customers...)": taken as an email
    ticket) and writes of legal action: "executive_escalation: trigger: regulatory_violation
    OR major_outage OR legal_action, timeline: immediate, notification: ceo + cto +
    legal_counsel" - the fifth level, at intake."""
    box, _ = smtp
    env = time_env
    created = (await env.get_current_time()).replace(microsecond=0)
    ticket_id = _ticket_id()
    async with open_desk("easy-einvoice", env, task_queue, database_url, smtp) as desk:
        handle = await open_ticket(
            desk,
            ticket_id,
            created,
            {
                "requester": _requester("ms"),
                "subject": "Caj berganda pada langganan",
                "description": "Jika tidak diselesaikan, kami akan mengambil tindakan "
                "undang-undang.",
                "channel": "phone",
            },
        )
        await eventually(lambda: received(box, "legal@easy-einvoice.example"))
        await env.sleep(timedelta(minutes=10))  # anything duplicated would arrive now
        state = await handle.query(TicketWorkflow.state)
    assert state.channel == "email"
    # "billing", "payment", "subscription" (here Malay "langganan") -> billing, priority high.
    assert (state.category, state.priority) == ("billing", "P2")
    assert await escalations(database_url, ticket_id) == [
        (0, 4, "content:regulatory-or-legal-action", created),
    ]
    internal = sorted(recipient(m) for m in box.messages if recipient(m) != CUSTOMER)
    assert internal == [
        "ceo@easy-einvoice.example",
        "cto@easy-einvoice.example",
        "executive@easy-einvoice.example",
        "legal@easy-einvoice.example",
    ]
    notices = [m for m in sent_to(box, CUSTOMER) if "Kes anda telah dirujuk" in str(m["Subject"])]
    assert len(notices) == 1
    assert "kepada pihak eksekutif kami" in text_of(notices[0])
    # The category in Malay, from the policy's `categories[].labels.ms`.
    assert "bantuan terbaik untuk urusan bil anda" in text_of(notices[0])
