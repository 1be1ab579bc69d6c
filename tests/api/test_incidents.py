"""`/v1/incidents` and the parent/child rule over HTTP (time-skipping server, real store and
SMTP): the outage walk of the README, suggestions, approval, and the 409 for a parent."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import ADMIN, ALICE, SERVICE, Api
from tests.conftest import eventually

BOB = {"Authorization": "Bearer bob-token"}


async def _ticket(api: Api, email: str, language: str = "en", **extra: Any) -> str:
    body = {
        "requester": {"email": email, "language": language},
        "subject": "Checkout payment failing",
        "description": "Card payments fail at checkout since 10:00.",
        "channel": "email",
        "category": "billing",
        **extra,
    }
    response = await api.http.post("/v1/tickets", json=body, headers=SERVICE)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _incident(api: Api, id_: str) -> dict[str, Any]:
    response = await api.http.get(f"/v1/incidents/{id_}", headers=ALICE)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_an_outage_from_first_reports_to_the_post_incident_report(api: Api) -> None:
    ids = [await _ticket(api, f"user{n}@example.com") for n in range(3)]
    await api.mailbox.wait_for(3)

    async def suggested() -> bool:
        found = (await api.http.get("/v1/incidents/suggestions", headers=ALICE)).json()
        return any(set(ids) <= set(item["ticket_ids"]) for item in found["items"])

    await eventually(suggested, timeout=20)

    declared = await api.http.post(
        "/v1/incidents",
        json={"title": "Checkout down", "severity": "P1", "component": "payments-api"},
        headers=ALICE,
    )
    assert declared.status_code == 201, declared.text
    incident_id = declared.json()["id"]
    assert incident_id.startswith("INC-")
    assert set(declared.json()["clocks"]) == {"acknowledge", "first_notice"}

    linked = await api.http.post(
        f"/v1/incidents/{incident_id}/tickets", json={"ticket_ids": ids}, headers=ALICE
    )
    assert linked.status_code == 200, linked.text
    assert [t["outcome"] for t in linked.json()["tickets"]] == ["linked"] * 3
    ticket = (await api.http.get(f"/v1/tickets/{ids[0]}", headers=ALICE)).json()
    assert ticket["incident_id"] == incident_id

    posted = await api.http.post(
        f"/v1/incidents/{incident_id}/updates",
        json={"body": "Card payments fail; a fix is underway.", "status": "identified"},
        headers=ALICE,
    )
    assert posted.status_code == 201, posted.text
    assert posted.json()["state"] == "sent"
    await api.mailbox.wait_for(6)

    resolved = await api.http.post(
        f"/v1/incidents/{incident_id}/resolve",
        json={"resolution": "The payment provider's certificate was renewed."},
        headers=ALICE,
    )
    assert resolved.status_code == 200, resolved.text
    await api.mailbox.wait_for(9)

    async def all_resolved() -> bool:
        counts: dict[str, int] = (await _incident(api, incident_id))["linked_by_status"]
        return counts == {"resolved": 3}

    await eventually(all_resolved, timeout=20)

    async def on_the_timeline() -> bool:
        timeline = (await api.http.get(f"/v1/tickets/{ids[1]}/events", headers=ALICE)).json()
        kinds = [e["type"] for e in timeline["items"]]
        return kinds.count("incident_update") == 1 and kinds.count("resolved") == 1

    await eventually(on_the_timeline, timeout=20)

    reported = await api.http.post(
        f"/v1/incidents/{incident_id}/report",
        json={"body": "Root cause: an expired certificate. Action: alert 30 days ahead."},
        headers=ALICE,
    )
    assert reported.status_code == 200, reported.text
    assert reported.json()["clocks"]["report"]["state"] == "met"
    subjects = [str(m["Subject"]) for m in api.mailbox.messages]
    assert sum("Incident update" in s for s in subjects) == 3

    async def listed() -> bool:
        page = (await api.http.get("/v1/incidents", headers=ALICE)).json()
        return any(i["id"] == incident_id and i["linked_count"] == 3 for i in page["items"])

    await eventually(listed, timeout=20)
    # Page by one: the pages together are the whole list, in order, each incident once
    # (however many other tests' incidents the store holds).
    whole = (await api.http.get("/v1/incidents?limit=200", headers=ALICE)).json()
    paged: list[str] = []
    cursor = ""
    while len(paged) <= len(whole["items"]):
        page = (await api.http.get(f"/v1/incidents?limit=1{cursor}", headers=ALICE)).json()
        paged += [i["id"] for i in page["items"]]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert paged == [i["id"] for i in whole["items"]]
    assert incident_id in paged
    forged = await api.http.get("/v1/incidents?cursor=forged", headers=ALICE)
    assert forged.status_code == 422, forged.text
    metrics = (await api.http.get("/metrics")).text
    assert "ticketflow_incident_linked_tickets" in metrics


async def test_unknown_severity_is_422_and_unknown_incident_404(api: Api) -> None:
    bad = await api.http.post(
        "/v1/incidents",
        json={"title": "x", "severity": "P9", "component": "api"},
        headers=ALICE,
    )
    assert bad.status_code == 422
    assert "P9" in bad.json()["error"]["message"]
    missing = await api.http.get("/v1/incidents/INC-999999", headers=ALICE)
    assert missing.status_code == 404
    # An Update to an unknown incident is a 404 too, not the server's NOT_FOUND as a 500.
    update = await api.http.post(
        "/v1/incidents/INC-999999/updates", json={"body": "still down"}, headers=ALICE
    )
    assert update.status_code == 404, update.text
    assert update.json()["error"]["code"] == missing.json()["error"]["code"]


async def test_a_parent_with_an_open_child_is_not_resolved_unless_asked(api: Api) -> None:
    parent = await _ticket(api, "p@example.com")
    child = await _ticket(api, "c@example.com")
    linked = await api.http.post(
        f"/v1/tickets/{child}/link", json={"parent_id": parent}, headers=ALICE
    )
    assert linked.status_code == 200, linked.text
    assert linked.json()["parent_id"] == parent
    cycle = await api.http.post(
        f"/v1/tickets/{parent}/link", json={"parent_id": child}, headers=ALICE
    )
    assert cycle.status_code == 409

    refused = await api.http.post(
        f"/v1/tickets/{parent}/resolve", json={"resolution": "Done"}, headers=ALICE
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "open_children"
    assert child in refused.json()["error"]["message"]

    both = await api.http.post(
        f"/v1/tickets/{parent}/resolve",
        json={"resolution": "Done", "resolve_children": True},
        headers=ALICE,
    )
    assert both.status_code == 200, both.text
    assert both.json()["status"] == "resolved"
    child_now = (await api.http.get(f"/v1/tickets/{child}", headers=ALICE)).json()
    assert child_now["status"] == "resolved"


async def test_public_updates_wait_for_a_managers_approval_when_the_policy_says(
    api: Api,
) -> None:
    app_policy = api.http._transport.app.state.incidents._policy  # type: ignore[attr-defined]
    strict = app_policy.model_copy(
        update={"incidents": app_policy.incidents.model_copy(update={"approval_required": True})}
    )
    api.http._transport.app.state.incidents._policy = strict  # type: ignore[attr-defined]
    ticket = await _ticket(api, "w@example.com")
    await api.mailbox.wait_for(1)
    declared = await api.http.post(
        "/v1/incidents",
        json={"title": "Login down", "severity": "P1", "component": "sso", "ticket_ids": [ticket]},
        headers=ALICE,
    )
    incident_id = declared.json()["id"]
    assert declared.json()["linked_count"] == 1
    posted = await api.http.post(
        f"/v1/incidents/{incident_id}/updates", json={"body": "We are on it."}, headers=ALICE
    )
    assert posted.json()["state"] == "pending_approval"
    number = posted.json()["number"]
    by_agent = await api.http.post(
        f"/v1/incidents/{incident_id}/updates/{number}/approve", headers=BOB
    )
    assert by_agent.status_code == 403
    approved = await api.http.post(
        f"/v1/incidents/{incident_id}/updates/{number}/approve", headers=ADMIN
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["approved_by"] == "admin"
    await api.mailbox.wait_for(2)
    assert "Incident update" in str(api.mailbox.messages[1]["Subject"])
