"""The generic escalation flow (seed 003, `config/packs/escalation-flow`) walked on the
time-skipping server with real SMTP: a ticket nobody answers climbs at 15 min (its
first-response breach), 4 h and 24 h; one answered in time climbs at 1 h, 4 h and 24 h; each
level's team hears about it and takes the ticket. After closing, the follow-up survey goes
out 24 h later and is answered with one click: the score is recorded, no ticket opens."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from temporalio.testing import WorkflowEnvironment

from domain.ticket.requests import TicketCreate
from store.models import TicketEventRow
from tests.conftest import Mailbox
from tests.packs.desk import (
    PORTAL_URL,
    Desk,
    open_desk,
    recipient,
    score_link,
    subject_of,
    text_of,
    to,
)
from tests.workflows.harness import store_row

CUSTOMER = "lee@customer.example"


def _body(subject: str) -> TicketCreate:
    return TicketCreate.model_validate(
        {
            "requester": {"email": CUSTOMER, "name": "Lee Park", "plan": "professional"},
            "subject": subject,
            "description": "Reports stop loading after the last update.",
            "channel": "email",
            "priority": "P3",
        }
    )


def _levels(events: list[TicketEventRow]) -> list[tuple[int, str, datetime]]:
    return [(e.data["to"], e.data["trigger"], e.at.replace(tzinfo=UTC)) for e in events]


async def _now(env: WorkflowEnvironment) -> datetime:
    return (await env.get_current_time()).replace(microsecond=0)


async def test_levels_at_15_min_1_h_4_h_and_24_h(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    silent, answered = (f"TKT-{uuid.uuid4().hex[:8]}" for _ in range(2))
    async with open_desk("escalation-flow", time_env, task_queue, database_url, smtp) as desk:
        created = await _now(time_env)
        await desk.start(silent, created, _body("Reports do not load"))
        await desk.start(answered, created, _body("Exports do not load"))
        await time_env.sleep(timedelta(minutes=10))
        await desk.act("sam", answered, "reply", {"body": "Looking into it now."})
        await time_env.sleep(timedelta(hours=24, minutes=5))
        silent_levels = await desk.wait_for_events(silent, "escalated", 3)
        answered_levels = await desk.wait_for_events(answered, "escalated", 3)
        # "No response within 15 minutes" escalates; then "Issue unresolved after 1 hour"
        # finds it at Level 1 already.
        assert _levels(silent_levels) == [
            (1, "breach:first_response", created + timedelta(minutes=15)),
            (2, "unresolved", created + timedelta(hours=4)),
            (3, "unresolved", created + timedelta(hours=24)),
        ]
        assert _levels(answered_levels) == [
            (1, "unresolved", created + timedelta(hours=1)),
            (2, "unresolved", created + timedelta(hours=4)),
            (3, "unresolved", created + timedelta(hours=24)),
        ]
        # Each level takes the ticket: at the end, Management has both.
        await desk.wait_for_team(silent, "management")
        await desk.wait_for_team(answered, "management")
        await _mail_settles(desk, 16)
    alerts = [m for m in desk.mailbox.messages if "[ESCALATION:" in subject_of(m)]
    by_level = Counter((_alert_level(m), recipient(m)) for m in alerts)
    assert by_level == {
        ("Senior Support", "senior-support@escalation-flow.example"): 2,
        ("Engineering", "engineering@escalation-flow.example"): 2,
        ("Management", "management@escalation-flow.example"): 2,
        ("Management", "maya@escalation-flow.example"): 2,
        # 80 % of the silent ticket's 15 minutes: its team lead hears first.
        ("first response at 80%", "sam@escalation-flow.example"): 1,
    }
    to_customer = [m for m in desk.mailbox.messages if recipient(m) == CUSTOMER]
    silent_mail = [subject_of(m) for m in to_customer if silent in subject_of(m)]
    # Acknowledgment, three escalation notices, the apology for the missed 15 minutes.
    assert len(silent_mail) == 5
    assert sum("sorry for the delay" in s.lower() for s in silent_mail) == 1
    # Signed by the desk (an agent's reply is signed by the agent).
    signed = [text_of(m) for m in to_customer if silent in subject_of(m)]
    assert all("The Customer Support Team" in body for body in signed)
    assert len(desk.mailbox.messages) == len({m["Message-ID"] for m in desk.mailbox.messages})


async def test_follow_up_24_h_after_close_is_answered_by_a_link(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    async with open_desk("escalation-flow", time_env, task_queue, database_url, smtp) as desk:
        ticket_id = (await desk.create(_body("Cannot log in").model_dump(mode="json")))["id"]
        await desk.act("sam", ticket_id, "reply", {"body": "Reset link sent."})
        await desk.act("sam", ticket_id, "resolve", {"resolution": "Password reset."})
        await desk.act("sam", ticket_id, "close", {})
        [closed] = await desk.wait_for_events(ticket_id, "closed", 1)
        closed_at = closed.at.replace(tzinfo=UTC)
        await time_env.sleep(timedelta(hours=23, minutes=50))
        assert not [e for e in await desk.events(ticket_id) if e.type == "csat_requested"]
        await time_env.sleep(timedelta(minutes=20))
        [requested] = await desk.wait_for_events(ticket_id, "csat_requested", 1)
        assert requested.at.replace(tzinfo=UTC) == closed_at + timedelta(hours=24)
        [survey] = await desk.wait_for_mail(
            lambda m: to(CUSTOMER)(m) and "How did we do" in subject_of(m)
        )
        page = await desk.http.get(score_link(survey, 4))
        assert page.status_code == 200, page.text
        assert "4" in page.text
        [received] = await desk.wait_for_events(ticket_id, "csat_received", 1)
        assert received.data["score"] == 4
        # The same link again records nothing more.
        again = await desk.http.get(score_link(survey, 1))
        assert again.status_code in (200, 409, 410)
        row = await store_row(database_url, ticket_id)
        assert row is not None
        assert row.csat_score == 4
        # Answering opened no ticket: the desk has this one only.
        listed = await desk.http.get("/v1/tickets", headers={"Authorization": "Bearer admin-token"})
        assert [t["id"] for t in listed.json()["items"]] == [ticket_id]


def _alert_level(message: EmailMessage) -> str:
    found = re.search(r"\[ESCALATION: ([^\]]+)\]", subject_of(message))
    assert found is not None
    return found[1]


async def _mail_settles(desk: Desk, at_least: int) -> None:
    await desk.mailbox.wait_for(at_least, timeout=30)
    await desk.env.sleep(timedelta(minutes=30))  # anything sent twice would arrive now


async def test_security_words_escalate_to_engineering_and_a_hold_is_told(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    async with open_desk("escalation-flow", time_env, task_queue, database_url, smtp) as desk:
        body = _body("Strange logins on our account").model_dump(mode="json")
        body["description"] = "We think this is a data breach: logins from abroad at night."
        ticket = await desk.create(body)
        ticket_id = ticket["id"]
        # "Security or compliance issues" is an automatic trigger: straight to Engineering,
        # who "Security incident response".
        [escalated] = await desk.wait_for_events(ticket_id, "escalated", 1)
        assert (escalated.data["to"], escalated.data["trigger"]) == (2, "content:security")
        await desk.wait_for_team(ticket_id, "engineering")
        await desk.wait_for_mail(to("engineering@escalation-flow.example"))
        # "Status updates at each stage": the customer hears that the ticket is on hold.
        held = await desk.act("eli", ticket_id, "hold", {"reason": "waiting for the IdP logs"})
        assert held["status"] == "on_hold"
        [update] = await desk.wait_for_mail(
            lambda m: to(CUSTOMER)(m) and subject_of(m).startswith("Status update")
        )
        assert "on hold" in text_of(update)
        assert f"{PORTAL_URL}/tickets/{ticket_id}" in text_of(update)
