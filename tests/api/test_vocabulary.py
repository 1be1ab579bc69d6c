"""A policy's own priority `P0` round-trips through the API, the store, the metrics and a
Temporal visibility query (on the real dev server, where visibility is real)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import yaml
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from runtime.policy_file import load_policy
from runtime.settings import DEFAULT_POLICY_FILE, Settings
from tests.api.conftest import ALICE, SERVICE, TOKENS, serving
from tests.conftest import Mailbox, eventually
from tests.workflows.harness import running_worker, store_row


def p0_policy_file(directory: Path) -> Path:
    """The default policy with a `P0` above P1, labelled, with its own SLA (on 24x7 in the
    requester's time zone) and threshold; P3 resolved in 3 business days; phone for
    enterprise only (others are taken in by email)."""
    data: dict[str, Any] = yaml.safe_load(DEFAULT_POLICY_FILE.read_text())
    data["priorities"] = [
        {"id": "P0", "label": "Critical", "rank": 0},
        {"id": "P1", "label": "Urgent", "rank": 1},
        {"id": "P2", "label": "High", "rank": 2},
        {"id": "P3", "label": "Normal", "rank": 3},
        {"id": "P4", "label": "Low", "rank": 4},
    ]
    data["channels"] = [
        {"id": "email"},
        {"id": "portal"},
        {"id": "chat"},
        {"id": "api"},
        {"id": "phone", "plans": ["enterprise"], "otherwise": "email"},
    ]
    data["sla_policies"].insert(
        0,
        {
            "id": "p0",
            "match": {"priority": ["P0"]},
            "targets": {"first_response": "15m", "resolution": "1h"},
            "calendar": "24x7",
            "requester_timezone": True,
        },
    )
    p3 = next(p for p in data["sla_policies"] if p["id"] == "p3")
    p3["targets"]["resolution"] = "3bd"
    data["escalation"]["unresolved_after"]["P0"] = "30m"
    path = directory / "policy.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _ticket(**overrides: Any) -> dict[str, Any]:
    return {
        "requester": {"email": "ana@example.com", "name": "Ana Novak"},
        "subject": "Every export fails",
        "description": "Since the deploy, nothing exports.",
        "channel": "portal",
        **overrides,
    }


async def test_p0_round_trips_through_api_store_metrics_and_visibility(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    database_url: str,
    smtp: tuple[Mailbox, int],
    tmp_path: Path,
) -> None:
    _, port = smtp
    prefix = f"V{uuid.uuid4().hex[:5].upper()}"  # the dev server is shared by the session
    policy_file = p0_policy_file(tmp_path)
    settings = Settings.model_validate(
        {
            "DATABASE_URL": database_url,
            "TEMPORAL_TASK_QUEUE": task_queue,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": port,
            "TICKETFLOW_TOKENS": TOKENS,
            "TICKETFLOW_CONFIG": str(policy_file),
            "TICKETFLOW_TICKET_PREFIX": prefix,
        }
    )
    app = create_app(settings, temporal=dev_env.client)
    policy = load_policy(policy_file)
    async with (
        running_worker(dev_env.client, task_queue, database_url, port, policy=policy),
        serving(app) as http,
    ):
        # The OpenAPI description lists the policy's ids where a request takes one.
        schema = (await http.get("/openapi.json")).json()
        body = schema["components"]["schemas"]["TicketCreate"]["properties"]
        assert body["priority"]["anyOf"][0]["enum"] == ["P0", "P1", "P2", "P3", "P4"]
        assert body["channel"]["enum"] == ["email", "portal", "chat", "api", "phone"]

        # The API: P0 in, P0 out; an id the policy does not list is a 422 naming the allowed.
        created = await http.post("/v1/tickets", json=_ticket(priority="P0"), headers=SERVICE)
        assert created.status_code == 201, created.text
        ticket = created.json()
        assert (ticket["priority"], ticket["sla_policy"]["policy_id"]) == ("P0", "p0")
        refused = await http.post("/v1/tickets", json=_ticket(priority="P9"), headers=SERVICE)
        assert refused.status_code == 422
        assert refused.json()["error"]["message"] == (
            "priority: unknown 'P9'; allowed: P0, P1, P2, P3, P4"
        )
        too_long = await http.post("/v1/tickets", json=_ticket(priority="P" * 17), headers=SERVICE)
        assert too_long.status_code == 422
        # Phone is for enterprise: a starter's phone ticket is taken in by email.
        phoned = await http.post(
            "/v1/tickets", json=_ticket(channel="phone", priority="P2"), headers=SERVICE
        )
        assert phoned.status_code == 201, phoned.text
        assert phoned.json()["channel"] == "email"
        # An agent raises the second ticket to P0: the policy is re-applied.
        raised = await http.post(
            f"/v1/tickets/{phoned.json()['id']}/priority",
            json={"priority": "P0", "reason": "whole account down"},
            headers=ALICE,
        )
        assert raised.status_code == 200, raised.text
        assert (raised.json()["priority"], raised.json()["sla_policy"]["policy_id"]) == ("P0", "p0")
        wrong = await http.post(
            f"/v1/tickets/{phoned.json()['id']}/priority",
            json={"priority": "P5", "reason": "typo"},
            headers=ALICE,
        )
        assert wrong.status_code == 422
        assert "allowed: P0, P1, P2, P3, P4" in wrong.json()["error"]["message"]
        ids = {ticket["id"], phoned.json()["id"]}

        # Business days: 3 open days of the 09:00-18:00 weekday calendar, whenever it starts.
        slow = await http.post("/v1/tickets", json=_ticket(priority="P3"), headers=SERVICE)
        assert slow.status_code == 201, slow.text
        assert slow.json()["sla"]["resolution"]["target_seconds"] == 3 * 9 * 3600

        # The explanation takes the policy's ids and the requester's clock.
        explained = await http.get(
            "/v1/sla/explain",
            params={"priority": "P0", "timezone": "Europe/London", "country": "gb"},
            headers=ALICE,
        )
        assert explained.status_code == 200, explained.text
        assert explained.json()["timezone"] == "Europe/London"
        assert "hours in the requester's time zone" in explained.json()["reason"]
        p3 = await http.get("/v1/sla/explain", params={"priority": "P3"}, headers=ALICE)
        assert p3.json()["targets"]["resolution"] == "3bd"
        for bad in ({"priority": "P9"}, {"priority": "P0", "plan": "gold"}):
            refused = await http.get("/v1/sla/explain", params=bad, headers=ALICE)
            assert refused.status_code == 422, bad

        # The store: the row and the list filter.
        row = await store_row(database_url, ticket["id"])
        assert row is not None
        assert row.priority == "P0"

        async def both_listed() -> bool:
            listed = await http.get("/v1/tickets", params={"priority": "P0"}, headers=ALICE)
            return {item["id"] for item in listed.json()["items"]} == ids

        await eventually(both_listed, timeout=30, interval=0.2)
        unknown = await http.get("/v1/tickets", params={"priority": "P7"}, headers=ALICE)
        assert unknown.status_code == 422

        # The metrics: the summary filter and the Prometheus labels.
        summary = await http.get("/v1/metrics/summary", params={"priority": "P0"}, headers=ALICE)
        assert summary.status_code == 200, summary.text
        figures = summary.json()
        assert figures["window"]["priority"] == "P0"
        assert figures["volume"]["created"] == 2
        assert figures["backlog"]["by_priority"]["P0"] == 2
        everything = (await http.get("/v1/metrics/summary", headers=ALICE)).json()
        assert list(everything["backlog"]["by_priority"]) == ["P0", "P1", "P2", "P3", "P4"]
        text = (await http.get("/metrics")).text
        assert 'ticketflow_tickets_created_total{channel="portal",priority="P0"} 1.0' in text
        assert 'ticketflow_tickets_created_total{channel="email",priority="P0"} 1.0' in text
        open_p0 = [
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("ticketflow_open_tickets{") and 'priority="P0"' in line
        ]
        assert sum(open_p0) == 2

        # Temporal visibility: operators find P0 tickets by their search attribute.
        async def found() -> bool:
            query = f'TicketPriority = "P0" AND WorkflowId STARTS_WITH "{prefix}-"'
            return {w.id async for w in dev_env.client.list_workflows(query)} == ids

        await eventually(found, timeout=30, interval=0.5)
