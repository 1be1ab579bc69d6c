"""The Facturino desk (seed 000) run from `config/packs/facturino` on the time-skipping server
with real SMTP: a critical (P1) issue around the clock, in Macedonian and in Albanian, with
its one-hour response, its four-hour update cadence and its escalation chain."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from temporalio.testing import WorkflowEnvironment

from domain.enums import Metric
from domain.ticket.actions import AgentReply
from tests.conftest import Mailbox, eventually
from tests.packs.scenario import (
    address,
    escalations,
    pack_worker,
    sent_to,
    skip_to,
    start_ticket,
    text,
)
from workflows.ticket import TicketWorkflow

SKOPJE = ZoneInfo("Europe/Skopje")
DEV_TEAM = "dev@facturino.mk"
DEV_LEAD = "marko@facturino.mk"
SENIOR_LEAD = "senior-tech-lead@facturino.mk"
ENGINEERING_MANAGER = "engineering-manager@facturino.mk"
OPERATIONS_MANAGER = "vesna@facturino.mk"


def _ticket_id() -> str:
    return f"TKT-{uuid.uuid4().hex[:8]}"


def _skopje(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SKOPJE).astimezone(UTC)


def _next(weekday: int, after: date) -> date:
    return after + timedelta(days=(weekday - after.weekday()) % 7 or 7)


async def test_critical_in_macedonian_on_a_saturday_night_with_four_hourly_updates(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    env = time_env
    saturday = _next(5, (await env.get_current_time()).astimezone(SKOPJE).date())
    sunday = saturday + timedelta(days=1)
    created = _skopje(saturday, 23)
    customer = "mirjana@smetkovodstvo.example"
    await skip_to(env, created)
    ticket_id = _ticket_id()
    async with pack_worker(env.client, task_queue, database_url, port, "facturino") as policy:
        handle = await start_ticket(
            env,
            task_queue,
            policy,
            ticket_id,
            {
                "requester": {
                    "email": customer,
                    "name": "Мирјана Стојанова",
                    "plan": "partner",
                    "language": "mk",
                    "timezone": "Europe/Skopje",
                },
                "subject": "Платформата не работи",
                "description": "Од 22:30 ниту еден од нашите клиенти не може да издава фактури.",
                "channel": "email",
            },
            created,
        )
        state = await handle.query(TicketWorkflow.state)
        # "Critical (P1) ... Platform completely down", from the description's words; on the
        # 24/7 clock ("Emergency Hotline ... 24/7 for critical issues"): due at midnight.
        assert state.priority == "P1"
        assert state.sla.policy_id == "p1-critical"
        assert state.clocks[Metric.FIRST_RESPONSE].due_at == created + timedelta(hours=1)
        # "Escalation: Direct to Development Team + Engineering Manager".
        assert state.escalation_level == 2
        assert state.team == "development"
        await eventually(lambda: _has_mail(box, ENGINEERING_MANAGER))

        # The developer answers at 23:30 and again at 02:30: each answer owes the next
        # within four hours ("Ongoing: Regular communication every 4 hours").
        await skip_to(env, _skopje(saturday, 23, 30))
        await handle.execute_update(
            TicketWorkflow.reply,
            AgentReply(actor="marko", body="Го истражуваме проблемот.", agent_name="Марко"),
        )
        state = await handle.query(TicketWorkflow.state)
        assert state.clocks[Metric.NEXT_UPDATE].due_at == _skopje(sunday, 3, 30)
        await skip_to(env, _skopje(sunday, 2, 30))
        await handle.execute_update(
            TicketWorkflow.reply,
            AgentReply(actor="marko", body="Причината е пронајдена.", agent_name="Марко"),
        )
        state = await handle.query(TicketWorkflow.state)
        assert state.clocks[Metric.NEXT_UPDATE].due_at == _skopje(sunday, 6, 30)
        # Nobody answers again: 03:00 misses the four-hour resolution ("<4 hours for
        # critical"), 06:30 the update. Each miss climbs the chain: Senior Technical Lead,
        # then Engineering Manager.
        await skip_to(env, _skopje(sunday, 6, 35))
        await eventually(lambda: _has_mail(box, OPERATIONS_MANAGER))
        await env.sleep(timedelta(minutes=30))  # anything duplicated would arrive now
    assert [e for e in await escalations(database_url, ticket_id) if e[0] >= 2] == [
        (2, 3, "breach:resolution", _skopje(sunday, 3)),
        (3, 4, "breach:next_update", _skopje(sunday, 6, 30)),
    ]
    internal = sorted(address(m) for m in box.messages if address(m) != customer)
    assert internal == sorted(
        [
            DEV_TEAM,  # the Development Team, at intake
            ENGINEERING_MANAGER,  # ... and the Engineering Manager
            DEV_LEAD,  # 80 % of the first 4 h update window (05:42)
            SENIOR_LEAD,  # 03:00
            ENGINEERING_MANAGER,  # 06:30
            OPERATIONS_MANAGER,
        ]
    )
    to_customer = sent_to(box, customer)
    assert all(f"[{ticket_id}]" in str(m["Subject"]) for m in to_customer)
    bodies = [text(m) for m in to_customer]
    # Every email in Macedonian: no English greeting or sign-off anywhere.
    assert all("Почитуван" in body for body in bodies)
    assert not any("Hello" in body or "Dear" in body for body in bodies)
    assert any("Го истражуваме проблемот." in body for body in bodies)
    assert len(box.messages) == len({str(m["Message-ID"]) for m in box.messages})


async def test_critical_in_albanian_on_a_weekday_evening_escalates_when_unanswered(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    env = time_env
    wednesday = _next(2, (await env.get_current_time()).astimezone(SKOPJE).date())
    created = _skopje(wednesday, 19)  # an hour after the business desk closed
    customer = "arta@kontabiliteti.example"
    await skip_to(env, created)
    ticket_id = _ticket_id()
    async with pack_worker(env.client, task_queue, database_url, port, "facturino") as policy:
        handle = await start_ticket(
            env,
            task_queue,
            policy,
            ticket_id,
            {
                "requester": {
                    "email": customer,
                    "name": "Arta Berisha",
                    "plan": "user",
                    "language": "sq",
                    "timezone": "Europe/Skopje",
                },
                "subject": "Platforma nuk punon",
                "description": "Nuk mund të hyjmë në llogari që nga ora 18:45.",
                "channel": "chat",
            },
            created,
        )
        state = await handle.query(TicketWorkflow.state)
        assert state.priority == "P1"
        assert state.clocks[Metric.FIRST_RESPONSE].due_at == _skopje(wednesday, 20)
        await skip_to(env, _skopje(wednesday, 20, 5))
        await eventually(lambda: _has_mail(box, SENIOR_LEAD))
        await env.sleep(timedelta(minutes=30))
    assert [e for e in await escalations(database_url, ticket_id) if e[0] >= 2] == [
        (2, 3, "breach:first_response", _skopje(wednesday, 20)),
    ]
    to_customer = sent_to(box, customer)
    # Acknowledgment, escalation notice and apology, all in Albanian.
    assert len(to_customer) == 3
    bodies = [text(m) for m in to_customer]
    assert all("Përshëndetje" in body or "I nderuar" in body for body in bodies)
    assert not any("Hello" in body or "Почитуван" in body for body in bodies)


async def _has_mail(box: Mailbox, recipient: str) -> bool:
    return bool(sent_to(box, recipient))
