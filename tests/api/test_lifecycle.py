"""Every path of the status machine over HTTP, each refusal a 409 that says why."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import ALICE, SERVICE, Api

BOB = {"Authorization": "Bearer bob-token"}


async def _create(api: Api, **overrides: Any) -> str:
    body: dict[str, Any] = {
        "requester": {"email": "ana@example.com", "name": "Ana", "plan": "starter"},
        "subject": "Export fails",
        "description": "The CSV export stops halfway.",
        "channel": "email",
        "priority": "P3",
    }
    body.update(overrides)
    response = await api.http.post("/v1/tickets", json=body, headers=SERVICE)
    assert response.status_code == 201, response.text
    ticket_id: str = response.json()["id"]
    return ticket_id


async def _act(
    api: Api, ticket_id: str, action: str, body: dict[str, Any], expect: int = 200
) -> dict[str, Any]:
    headers = SERVICE if action == "customer-reply" else ALICE
    response = await api.http.post(f"/v1/tickets/{ticket_id}/{action}", json=body, headers=headers)
    assert response.status_code == expect, response.text
    payload: dict[str, Any] = response.json()
    return payload


PATHS: dict[str, list[tuple[str, dict[str, Any], str]]] = {
    "reply, resolve, close": [
        ("reply", {"body": "Looking into it"}, "open"),
        ("resolve", {"resolution": "Fixed the export"}, "resolved"),
        ("close", {}, "closed"),
    ],
    "assign, ask the customer, they answer, resolve, close": [
        ("assign", {"agent_id": "bob"}, "open"),
        ("request-info", {"body": "Which file?"}, "awaiting_customer"),
        ("customer-reply", {"body": "report.csv"}, "open"),
        ("resolve", {"resolution": "Done"}, "resolved"),
        ("close", {}, "closed"),
    ],
    "hold, resolve, reopen, resolve, close": [
        ("note", {"body": "waiting for the bank"}, "new"),
        ("hold", {"reason": "bank API outage"}, "on_hold"),
        ("resolve", {"resolution": "Bank is back"}, "resolved"),
        ("reopen", {"reason": "customer says it is still broken"}, "open"),
        ("escalate", {"reason": "needs engineering"}, "open"),
        ("priority", {"priority": "P2", "reason": "several customers"}, "open"),
        ("resolve", {"resolution": "Patched"}, "resolved"),
        ("close", {}, "closed"),
    ],
    "resolved, customer replies: reopened": [
        ("resolve", {"resolution": "Should work now"}, "resolved"),
        ("customer-reply", {"body": "It does not"}, "open"),
    ],
}


@pytest.mark.parametrize("path", list(PATHS))
async def test_paths_through_the_status_machine(api: Api, path: str) -> None:
    ticket_id = await _create(api)
    for action, body, expected in PATHS[path]:
        ticket = await _act(api, ticket_id, action, body)
        assert ticket["status"] == expected, (action, ticket["status"])


async def test_refusals_are_409_with_the_current_status_and_what_is_allowed(api: Api) -> None:
    ticket_id = await _create(api)
    refused = await api.http.post(f"/v1/tickets/{ticket_id}/close", json={}, headers=ALICE)
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "invalid_transition"
    assert "is new" in error["message"]
    assert "allowed when the ticket is resolved" in error["message"]
    reopen = await api.http.post(
        f"/v1/tickets/{ticket_id}/reopen", json={"reason": "x"}, headers=ALICE
    )
    assert reopen.status_code == 409
    assert "is new" in reopen.json()["error"]["message"]


async def test_timeline_has_every_action_with_its_actor(api: Api) -> None:
    ticket_id = await _create(api)
    await _act(api, ticket_id, "note", {"body": "internal"})
    await _act(api, ticket_id, "reply", {"body": "public"})
    from tests.conftest import eventually

    async def recorded() -> bool:
        response = await api.http.get(f"/v1/tickets/{ticket_id}/events", headers=ALICE)
        return response.status_code == 200 and any(
            e["type"] == "agent_reply" for e in response.json()["items"]
        )

    await eventually(recorded)
    events = (await api.http.get(f"/v1/tickets/{ticket_id}/events", headers=ALICE)).json()["items"]
    by_type = {e["type"]: e for e in events}
    assert by_type["created"]["actor"] == "customer"
    assert by_type["note"]["actor"] == "agent:alice"
    assert by_type["note"]["data"] == {"body": "internal", "public": False}
    assert by_type["agent_reply"]["actor"] == "agent:alice"
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))


async def test_closed_ticket_customer_reply_opens_a_linked_follow_up(api: Api) -> None:
    ticket_id = await _create(api)
    await _act(api, ticket_id, "resolve", {"resolution": "Done"})
    await _act(api, ticket_id, "close", {})
    follow_up = await _act(api, ticket_id, "customer-reply", {"body": "One more thing"}, expect=201)
    assert follow_up["id"] != ticket_id
    assert follow_up["description"] == "One more thing"
    assert follow_up["status"] == "new"
    state = await api.http.get(f"/v1/tickets/{follow_up['id']}", headers=ALICE)
    assert state.status_code == 200


async def test_assign_checks_the_agent(api: Api) -> None:
    ticket_id = await _create(api)
    unknown = await api.http.post(
        f"/v1/tickets/{ticket_id}/assign", json={"agent_id": "zed"}, headers=ALICE
    )
    both = await api.http.post(
        f"/v1/tickets/{ticket_id}/assign",
        json={"agent_id": "bob", "team": "billing"},
        headers=ALICE,
    )
    team = await _act(api, ticket_id, "assign", {"team": "billing"})
    assert unknown.status_code == 409
    assert unknown.json()["error"]["code"] == "not_assignable"
    assert both.status_code == 422
    assert (team["team"], team["assignee"], team["status"]) == ("billing", None, "new")


async def test_actor_comes_from_the_token_not_the_body(api: Api) -> None:
    ticket_id = await _create(api)
    response = await api.http.post(
        f"/v1/tickets/{ticket_id}/note", json={"body": "x", "actor": "mallory"}, headers=BOB
    )
    assert response.status_code == 422


async def test_list_filters_and_paginates(api: Api) -> None:
    ids = [await _create(api, priority=p) for p in ("P1", "P3", "P3")]
    from tests.conftest import eventually

    async def all_listed() -> bool:
        page = await api.http.get("/v1/tickets", headers=ALICE)
        return {t["id"] for t in page.json()["items"]} >= set(ids)

    await eventually(all_listed)
    p3 = (await api.http.get("/v1/tickets?priority=P3", headers=ALICE)).json()
    assert [t["id"] for t in p3["items"]] == [ids[2], ids[1]]
    first = (await api.http.get("/v1/tickets?limit=2", headers=ALICE)).json()
    second = (
        await api.http.get(f"/v1/tickets?limit=2&cursor={first['next_cursor']}", headers=ALICE)
    ).json()
    assert [t["id"] for t in first["items"] + second["items"]] == list(reversed(ids))
    assert second["next_cursor"] is None
    service = await api.http.get("/v1/tickets", headers=SERVICE)
    assert service.status_code == 403
    bad = await api.http.get("/v1/tickets?cursor=garbage", headers=ALICE)
    assert bad.status_code == 422


async def test_sla_explain(api: Api) -> None:
    response = await api.http.get(
        "/v1/sla/explain?priority=P1&plan=enterprise&channel=email", headers=ALICE
    )
    assert response.status_code == 200
    body = response.json()
    assert body["policy_id"] == "p1-enterprise"
    assert "priority=P1" in body["reason"]
    assert "plan=enterprise" in body["reason"]
    assert body["targets"]["first_response"] == 15 * 60


async def test_csat_once_and_only_after_resolution(api: Api) -> None:
    ticket_id = await _create(api)
    early = await api.http.post(f"/v1/tickets/{ticket_id}/csat", json={"score": 5}, headers=SERVICE)
    assert early.status_code == 409
    assert "is new" in early.json()["error"]["message"]
    await _act(api, ticket_id, "resolve", {"resolution": "Done"})
    rated = await api.http.post(
        f"/v1/tickets/{ticket_id}/csat", json={"score": 2, "comment": "slow"}, headers=SERVICE
    )
    assert rated.status_code == 200, rated.text
    body = rated.json()
    assert body["escalation_level"] == 1
    assert body["sla"]["csat_followup"]["state"] == "running"
    again = await api.http.post(f"/v1/tickets/{ticket_id}/csat", json={"score": 5}, headers=SERVICE)
    assert again.status_code == 409
    assert "already rated 2" in again.json()["error"]["message"]
    bad = await api.http.post(f"/v1/tickets/{ticket_id}/csat", json={"score": 6}, headers=SERVICE)
    assert bad.status_code == 422
    as_agent = await api.http.post(
        f"/v1/tickets/{ticket_id}/csat", json={"score": 4}, headers=ALICE
    )
    assert as_agent.status_code == 403


async def test_actions_on_an_ended_workflow_are_409_not_404(api: Api) -> None:
    ticket_id = await _create(api)
    await _act(api, ticket_id, "resolve", {"resolution": "Done"})
    await _act(api, ticket_id, "close", {})
    handle = api.client.get_workflow_handle(ticket_id)
    await handle.terminate("the operator ended it")
    response = await api.http.post(
        f"/v1/tickets/{ticket_id}/note", json={"body": "late"}, headers=ALICE
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ticket_ended"


async def test_escalating_past_the_ladders_top_is_409_and_a_level_at_all_422(api: Api) -> None:
    """The ticket's own ladder bounds the level (four levels in the default policy)."""
    ticket_id = await _create(api)
    top = await _act(api, ticket_id, "escalate", {"reason": "legal", "level": 3})
    assert top["escalation_level"] == 3
    over = await _act(api, ticket_id, "escalate", {"reason": "more", "level": 4}, expect=409)
    assert "levels 0-3" in over["error"]["message"]
    await _act(api, ticket_id, "escalate", {"reason": "absurd", "level": 100}, expect=422)
