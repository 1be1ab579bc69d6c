"""The survey answered by its one-click link and by an email reply, and the desk's email
switches, end to end: time-skipping Temporal server, worker, store and real SMTP."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import yaml
from temporalio.testing import WorkflowEnvironment

from activities.letterhead import Letterhead
from api.app import create_app
from domain.policy.customer import BrandSpec
from domain.ticket.survey_links import SurveyToken, sign
from runtime.settings import DEFAULT_POLICY_FILE, Settings
from tests.api.conftest import ALICE, SERVICE, TOKENS, Api, inbound_mail, serving
from tests.conftest import Mailbox, eventually
from tests.workflows.harness import running_worker

SECRET = "test-survey-secret"
PUBLIC_URL = "https://api.desk.example"
PORTAL_URL = "https://help.desk.example"
BRAND = {
    "name": "Desk Co Support",
    "signature": "The Desk Co Support Team",
    "support_address": "help@desk.example",
    "manager_name": "Dana Reyes",
}


@dataclass
class Desk:
    api: Api
    env: WorkflowEnvironment


def _policy_file(tmp_path: Path, extra: dict[str, Any]) -> Path:
    policy = yaml.safe_load(DEFAULT_POLICY_FILE.read_text(encoding="utf-8"))
    policy["brand"] = BRAND
    policy["emails"] = {"disabled": ["request_info"], "status_changes": ["on_hold"]}
    policy["languages"] = ["en", "ms", "mk", "sq", "es", "fr"]
    policy["plans"] = [
        {"id": "starter", "label": "Starter", "languages": ["en"]},
        {"id": "professional", "label": "Professional"},
        {"id": "enterprise", "label": "Enterprise", "languages": ["en", "es", "fr"]},
    ]
    if "csat" in extra and "delay" in extra["csat"]:
        del policy["lifecycle"]["csat_survey_after"]
    policy.update(extra)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture
async def desk(
    time_env: WorkflowEnvironment,
    task_queue: str,
    database_url: str,
    smtp: tuple[Mailbox, int],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Desk]:
    """The API and a worker on a policy with a brand and email switches; a test's
    `@pytest.mark.policy(**keys)` adds keys."""
    box, port = smtp
    marker = request.node.get_closest_marker("policy")
    extra = dict(marker.kwargs) if marker else {}
    settings = Settings.model_validate(
        {
            "DATABASE_URL": database_url,
            "TEMPORAL_TASK_QUEUE": task_queue,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": port,
            "TICKETFLOW_TOKENS": TOKENS,
            "MAIL_FROM": "Support <support@desk.example>",
            "TICKETFLOW_CONFIG": str(_policy_file(tmp_path, extra)),
            "TICKETFLOW_CSAT_SECRET": SECRET,
            "PUBLIC_URL": PUBLIC_URL,
            "PORTAL_URL": PORTAL_URL,
        }
    )
    letterhead = Letterhead(
        brand=BrandSpec.model_validate(BRAND),
        portal_url=PORTAL_URL,
        survey_url=PUBLIC_URL,
        survey_secret=SECRET.encode(),
    )
    app = create_app(settings, temporal=time_env.client)
    async with (
        running_worker(time_env.client, task_queue, database_url, port, letterhead=letterhead),
        serving(app) as http,
    ):
        api = Api(http=http, mailbox=box, database_url=database_url, client=time_env.client)
        yield Desk(api=api, env=time_env)


async def _create(api: Api, **requester: Any) -> str:
    body = {
        "requester": {"email": "ana@example.com", "name": "Ana", "plan": "starter", **requester},
        "subject": "Export fails",
        "description": "The CSV export stops halfway.",
        "channel": "email",
        "priority": "P3",
    }
    response = await api.http.post("/v1/tickets", json=body, headers=SERVICE)
    assert response.status_code == 201, response.text
    ticket_id: str = response.json()["id"]
    return ticket_id


async def _act(api: Api, ticket_id: str, action: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await api.http.post(f"/v1/tickets/{ticket_id}/{action}", json=body, headers=ALICE)
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()
    return payload


async def _ticket(api: Api, ticket_id: str) -> dict[str, Any]:
    response = await api.http.get(f"/v1/tickets/{ticket_id}", headers=ALICE)
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()
    return payload


async def _mail(box: Mailbox, template: str) -> EmailMessage:
    async def arrived() -> bool:
        return any(template in str(m["Message-ID"]) for m in box.messages)

    await eventually(arrived)
    return next(m for m in box.messages if template in str(m["Message-ID"]))


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


async def _surveyed(desk: Desk) -> tuple[str, EmailMessage]:
    """A ticket answered, resolved and closed, and the survey that reached the customer."""
    api = desk.api
    ticket_id = await _create(api)
    await _act(api, ticket_id, "reply", {"body": "Looking into it"})
    await _act(api, ticket_id, "resolve", {"resolution": "Fixed the export"})
    await _act(api, ticket_id, "close", {})
    await desk.env.sleep(timedelta(hours=25))
    return ticket_id, await _mail(api.mailbox, "csat_survey")


async def _ticket_count(api: Api) -> int:
    response = await api.http.get("/v1/tickets", headers=ALICE)
    assert response.status_code == 200, response.text
    return len(response.json()["items"])


async def test_a_survey_answered_by_its_link_records_the_score_once(desk: Desk) -> None:
    api = desk.api
    ticket_id, survey = await _surveyed(desk)
    text = _text(survey)
    links = dict(re.findall(rf"  (\d) \([^)]*\): ({re.escape(PUBLIC_URL)}/csat/\S+)", text))
    assert sorted(links) == ["1", "2", "3", "4", "5"]
    assert "The Desk Co Support Team" in text
    path = links["4"].removeprefix(PUBLIC_URL)

    answered = await api.http.get(path)  # no bearer token: the signature is the credential
    assert answered.status_code == 200, answered.text
    assert answered.headers["content-type"].startswith("text/html")
    assert f"4 out of 5 for ticket {ticket_id}" in answered.text
    assert (await _ticket(api, ticket_id))["csat_score"] == 4

    again = await api.http.get(links["1"].removeprefix(PUBLIC_URL))
    assert again.status_code == 409
    assert "already been answered" in again.text
    assert (await _ticket(api, ticket_id))["csat_score"] == 4
    assert await _ticket_count(api) == 1


async def test_concurrent_clicks_on_one_survey_record_exactly_one_score(desk: Desk) -> None:
    """A customer who double-clicks, or clicks two scores at once: one claim in the store
    wins, every other click is told the survey was answered."""
    api = desk.api
    ticket_id, survey = await _surveyed(desk)
    links = dict(
        re.findall(rf"  (\d) \([^)]*\): ({re.escape(PUBLIC_URL)}/csat/\S+)", _text(survey))
    )
    paths = [links[score].removeprefix(PUBLIC_URL) for score in ("5", "5", "3", "1", "4")]

    answers = await asyncio.gather(*(api.http.get(path) for path in paths))
    codes = sorted(a.status_code for a in answers)
    assert codes == [200, 409, 409, 409, 409], [a.text for a in answers]
    [winner] = [paths[i] for i, a in enumerate(answers) if a.status_code == 200]
    recorded = (await _ticket(api, ticket_id))["csat_score"]
    assert recorded == int(winner.rsplit("score=", 1)[1])

    async def rated_once() -> bool:
        events = await api.http.get(f"/v1/tickets/{ticket_id}/events", headers=ALICE)
        return [e["type"] for e in events.json()["items"]].count("csat_received") == 1

    await eventually(rated_once)


async def test_a_numeric_reply_to_the_survey_records_the_score_and_opens_no_ticket(
    desk: Desk,
) -> None:
    api = desk.api
    ticket_id, survey = await _surveyed(desk)
    reply = inbound_mail(
        sender="Ana <ana@example.com>",
        subject=f"Re: {survey['Subject']}",
        text=f"2\nIt took three days.\n\nOn Mon, Support wrote:\n> {_text(survey)[:40]}",
        in_reply_to=str(survey["Message-ID"]),
    )
    response = await api.http.post("/v1/inbound/email", json=reply, headers=SERVICE)
    assert response.status_code == 200, response.text
    assert response.json() == {"ticket_id": ticket_id, "outcome": "rated"}
    ticket = await _ticket(api, ticket_id)
    assert ticket["csat_score"] == 2
    assert ticket["status"] == "closed"
    assert await _ticket_count(api) == 1
    # A low score: the follow-up the ladder owes, signed by the desk's manager.
    followup = _text(await _mail(api.mailbox, "low_csat_followup"))
    assert "It took three days." in followup
    assert "Dana Reyes" in followup

    # The survey's links no longer record anything.
    token = sign(
        SECRET.encode(),
        SurveyToken(ticket_id=ticket_id, seq=_seq(survey), expires_at=_in(days=7)),
    )
    late = await api.http.get(f"/csat/{token}?score=5")
    assert late.status_code == 409
    assert (await _ticket(api, ticket_id))["csat_score"] == 2


def _seq(message: EmailMessage) -> int:
    match = re.search(r"\.(\d+)\.csat_survey@", str(message["Message-ID"]))
    assert match is not None
    return int(match.group(1))


def _in(**delta: float) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + timedelta(**delta)


async def test_forged_expired_and_malformed_links_are_refused(desk: Desk) -> None:
    api = desk.api
    ticket_id = await _create(api)
    genuine = SurveyToken(ticket_id=ticket_id, seq=3, expires_at=_in(days=1))
    forged = sign(b"another secret", genuine)
    response = await api.http.get(f"/csat/{forged}?score=5")
    assert response.status_code == 403
    assert "not valid" in response.text

    payload, _, signature = sign(SECRET.encode(), genuine).partition(".")
    other = sign(
        SECRET.encode(), SurveyToken(ticket_id="TKT-999999", seq=3, expires_at=_in(days=1))
    )
    spliced = f"{other.partition('.')[0]}.{signature}"  # another ticket under this signature
    assert (await api.http.get(f"/csat/{spliced}?score=5")).status_code == 403

    expired = sign(SECRET.encode(), genuine.__class__(ticket_id, 3, _in(seconds=-1)))
    response = await api.http.get(f"/csat/{expired}?score=5")
    assert response.status_code == 410
    assert "expired" in response.text

    valid = f"{payload}.{signature}"
    assert (await api.http.get(f"/csat/{valid}?score=9")).status_code == 422
    assert (await api.http.get("/csat/not-a-token?score=5")).status_code == 403
    assert (await _ticket(api, ticket_id))["csat_score"] is None


async def test_a_disabled_email_is_not_sent_and_a_status_change_email_is(desk: Desk) -> None:
    api = desk.api
    ticket_id = await _create(api)
    ack = _text(await _mail(api.mailbox, "acknowledgment"))
    # The template context: brand, plan, the target in words, the local due time, the link.
    assert "Thank you for contacting Desk Co Support." in ack
    assert "On your Starter plan, an agent will reply within 8 hours" in ack
    assert "(UTC)" in ack
    assert f"{PORTAL_URL}/tickets/{ticket_id}" in ack
    assert "The Desk Co Support Team" in ack

    await _act(api, ticket_id, "request-info", {"body": "Which file?"})  # switched off
    await _act(api, ticket_id, "hold", {"reason": "waiting for the bank"})
    status = _text(await _mail(api.mailbox, "status_change"))
    assert "is now on hold" in status
    await _act(api, ticket_id, "reply", {"body": "Bank is back"})
    await _mail(api.mailbox, "agent_reply")
    templates = [str(m["Message-ID"]).split(".")[2].split("@")[0] for m in api.mailbox.messages]
    assert "request_info" not in templates
    assert templates.count("status_change") == 1


async def test_a_plan_without_the_language_gets_the_default_language(desk: Desk) -> None:
    api = desk.api
    spanish = await _create(api, plan="enterprise", language="es", email="eva@example.com")
    english = await _create(api, plan="starter", language="es", email="tom@example.com")
    assert (await _ticket(api, spanish))["requester"]["language"] == "es"
    assert (await _ticket(api, english))["requester"]["language"] == "en"

    async def both() -> bool:
        return len(api.mailbox.messages) >= 2

    await eventually(both)
    subjects = {str(m["To"]): _text(m) for m in api.mailbox.messages}
    assert any("Gracias por escribir a Desk Co Support" in t for t in subjects.values())
    assert any("Thank you for contacting Desk Co Support" in t for t in subjects.values())


@pytest.mark.policy(csat={"send_after": "resolved", "delay": "1h", "link_ttl": "2d"})
async def test_a_survey_after_resolving_is_answered_while_the_ticket_stays_resolved(
    desk: Desk,
) -> None:
    api = desk.api
    ticket_id = await _create(api)
    await _act(api, ticket_id, "reply", {"body": "Looking into it"})
    await _act(api, ticket_id, "resolve", {"resolution": "Fixed the export"})
    await desk.env.sleep(timedelta(hours=2))
    survey = await _mail(api.mailbox, "csat_survey")
    assert (await _ticket(api, ticket_id))["status"] == "resolved"
    link = re.search(rf"{re.escape(PUBLIC_URL)}(/csat/\S+score=5)", _text(survey))
    assert link is not None
    answered = await api.http.get(link.group(1))
    assert answered.status_code == 200, answered.text
    ticket = await _ticket(api, ticket_id)
    assert (ticket["csat_score"], ticket["status"]) == (5, "resolved")
