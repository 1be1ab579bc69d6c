"""`POST /v1/inbound/email` end to end: real Temporal test server, worker, store and SMTP."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from store import inbound as claims
from store.engine import create_engine, create_sessionmaker
from tests.api.conftest import ALICE, SERVICE, Api, inbound_mail
from tests.conftest import eventually

INBOUND = "/v1/inbound/email"


async def _post(api: Api, mail: dict[str, Any], expect: int) -> dict[str, Any]:
    response = await api.http.post(INBOUND, json=mail, headers=SERVICE)
    assert response.status_code == expect, response.text
    payload: dict[str, Any] = response.json()
    return payload


async def _new_ticket(api: Api, **overrides: Any) -> str:
    created = await _post(api, inbound_mail(**overrides), 201)
    assert created["outcome"] == "created"
    ticket_id: str = created["ticket_id"]
    return ticket_id


async def _events(api: Api, ticket_id: str) -> list[dict[str, Any]]:
    response = await api.http.get(f"/v1/tickets/{ticket_id}/events", headers=ALICE)
    if response.status_code == 404:  # not projected yet
        return []
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _replies_once_recorded(api: Api, ticket_id: str, count: int) -> list[dict[str, Any]]:
    async def recorded() -> bool:
        events = await _events(api, ticket_id)
        replies: int = sum(e["type"] == "customer_reply" for e in events)
        return replies >= count

    await eventually(recorded)
    return [e for e in await _events(api, ticket_id) if e["type"] == "customer_reply"]


async def test_an_email_opens_a_ticket_from_its_sender(api: Api) -> None:
    quoted = "The CSV export stops halfway.\n\n-- \nAna Novak\nExample Ltd"
    response = await api.http.post(
        INBOUND, json=inbound_mail(subject="Fwd: Export fails", text=quoted), headers=SERVICE
    )
    assert response.status_code == 201, response.text
    ticket_id = response.json()["ticket_id"]
    assert response.json() == {"ticket_id": ticket_id, "outcome": "created"}
    assert response.headers["Location"] == f"/v1/tickets/{ticket_id}"
    ticket = (await api.http.get(f"/v1/tickets/{ticket_id}", headers=ALICE)).json()
    assert ticket["subject"] == "Export fails"
    assert ticket["channel"] == "email"
    assert ticket["requester"]["email"] == "ana@example.com"
    assert ticket["requester"]["name"] == "Ana Novak"
    assert ticket["description"] == "The CSV export stops halfway."
    [ack] = await api.mailbox.wait_for(1)
    assert ack["To"].addresses[0].addr_spec == "ana@example.com"


async def test_a_reply_threads_by_the_subject_tag(api: Api) -> None:
    ticket_id = await _new_ticket(api)
    reply = inbound_mail(subject=f"Re: [{ticket_id}] Export fails", text="It happens on row 5000.")
    threaded = await _post(api, reply, 200)
    assert threaded == {"ticket_id": ticket_id, "outcome": "threaded"}
    [event] = await _replies_once_recorded(api, ticket_id, 1)
    assert event["data"]["body"] == "It happens on row 5000."
    assert event["data"]["message_id"] == reply["message_id"]


async def test_a_reply_threads_by_in_reply_to_our_acknowledgment(api: Api) -> None:
    ticket_id = await _new_ticket(api)
    [ack] = await api.mailbox.wait_for(1)
    ack_id = str(ack["Message-ID"])
    assert ack_id.startswith(f"<{ticket_id}.")
    reply = inbound_mail(subject="Re: Export fails", in_reply_to=ack_id, references=ack_id)
    threaded = await _post(api, reply, 200)
    assert threaded == {"ticket_id": ticket_id, "outcome": "threaded"}
    await _replies_once_recorded(api, ticket_id, 1)


async def test_a_reply_threads_by_references_to_an_earlier_inbound_email(api: Api) -> None:
    first = inbound_mail()
    ticket_id = await _new_ticket(api, **first)
    reply = inbound_mail(subject="Re: Export fails", references=f"<other@x> {first['message_id']}")
    threaded = await _post(api, reply, 200)
    assert threaded == {"ticket_id": ticket_id, "outcome": "threaded"}


async def test_a_foreign_desk_message_id_does_not_thread(api: Api) -> None:
    ticket_id = await _new_ticket(api)
    lookalike = f"<{ticket_id}.1.acknowledgment@other-desk.example>"
    other = await _post(api, inbound_mail(subject="Re: Export fails", in_reply_to=lookalike), 201)
    assert other["outcome"] == "created"
    assert other["ticket_id"] != ticket_id


async def test_the_same_message_id_twice_is_one_customer_reply(api: Api) -> None:
    creating = inbound_mail()
    ticket_id = await _new_ticket(api, **creating)
    again = await _post(api, creating, 200)
    assert again == {"ticket_id": ticket_id, "outcome": "duplicate"}
    reply = inbound_mail(subject=f"Re: [{ticket_id}] Export fails", text="Row 5000.")
    assert (await _post(api, reply, 200))["outcome"] == "threaded"
    repeated = await api.http.post(INBOUND, json=reply, headers=SERVICE)
    assert repeated.status_code == 200
    assert repeated.json() == {"ticket_id": ticket_id, "outcome": "duplicate"}
    # An event after the duplicate: once it is on the timeline, a second reply would be too.
    note = await api.http.post(f"/v1/tickets/{ticket_id}/note", json={"body": "x"}, headers=ALICE)
    assert note.status_code == 200, note.text

    async def noted() -> bool:
        return any(e["type"] == "note" for e in await _events(api, ticket_id))

    await eventually(noted)
    replies = [e for e in await _events(api, ticket_id) if e["type"] == "customer_reply"]
    assert [e["data"]["message_id"] for e in replies] == [reply["message_id"]]
    # Neither duplicate took a ticket number: the next ticket gets the next one.
    fresh = await _new_ticket(api)
    assert int(fresh.rpartition("-")[2]) == int(ticket_id.rpartition("-")[2]) + 1


async def test_quoted_history_is_stripped_from_the_stored_reply(api: Api) -> None:
    ticket_id = await _new_ticket(api)
    text = (
        "Here is the file.\r\n\r\n"
        "________________________________\r\n"
        "From: Support <support@desk.example>\r\n"
        "Sent: Monday, November 23, 2026 10:00 AM\r\n"
        f"Subject: [{ticket_id}] Export fails\r\n\r\n"
        "Which file fails?\r\n"
    )
    await _post(api, inbound_mail(subject=f"RE: [{ticket_id}] Export fails", text=text), 200)
    [event] = await _replies_once_recorded(api, ticket_id, 1)
    assert event["data"]["body"] == "Here is the file."


async def test_a_reply_to_a_closed_ticket_opens_a_linked_follow_up(api: Api) -> None:
    ticket_id = await _new_ticket(api)
    for action, body in (("resolve", {"resolution": "Fixed"}), ("close", {})):
        done = await api.http.post(f"/v1/tickets/{ticket_id}/{action}", json=body, headers=ALICE)
        assert done.status_code == 200, done.text
    reply = inbound_mail(subject=f"Re: [{ticket_id}] Export fails", text="It broke again.")
    follow_up = await _post(api, reply, 201)
    assert follow_up["outcome"] == "follow_up"
    assert follow_up["ticket_id"] != ticket_id
    ticket = (await api.http.get(f"/v1/tickets/{follow_up['ticket_id']}", headers=ALICE)).json()
    assert ticket["description"] == "It broke again."

    async def linked() -> bool:
        events = await _events(api, follow_up["ticket_id"])
        return any(e["type"] == "created" for e in events)

    await eventually(linked)
    [created] = [e for e in await _events(api, follow_up["ticket_id"]) if e["type"] == "created"]
    assert created["data"]["related_ticket_id"] == ticket_id
    # The customer answering that email lands on the follow-up, not the closed ticket.
    answer = inbound_mail(subject="Re: Export fails", in_reply_to=reply["message_id"])
    assert await _post(api, answer, 200) == {
        "ticket_id": follow_up["ticket_id"],
        "outcome": "threaded",
    }


async def test_an_unknown_tag_opens_a_new_ticket(api: Api) -> None:
    created = await _post(api, inbound_mail(subject="Re: [TKT-999999] Export fails"), 201)
    assert created["outcome"] == "created"
    ticket = (await api.http.get(f"/v1/tickets/{created['ticket_id']}", headers=ALICE)).json()
    assert ticket["subject"] == "Export fails"


async def test_invalid_email_is_422_naming_the_field_and_can_be_retried(api: Api) -> None:
    two_senders = await api.http.post(
        INBOUND, json=inbound_mail(**{"from": "a@example.com, b@example.com"}), headers=SERVICE
    )
    assert two_senders.status_code == 422
    assert two_senders.json()["error"]["message"].startswith("from: ")
    long_subject = inbound_mail(subject="Re: " + "x" * 201)
    refused = await api.http.post(INBOUND, json=long_subject, headers=SERVICE)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == {
        "code": "validation_error",
        "message": "subject: must be at most 200 characters without Re:/Fwd: prefixes "
        "to open a ticket",
    }
    # The refusal left nothing behind: the corrected email is handled, not a duplicate.
    fixed = await _post(api, {**long_subject, "subject": "Re: Export fails"}, 201)
    assert fixed["outcome"] == "created"


async def test_an_email_still_being_handled_is_409_so_the_gateway_retries(api: Api) -> None:
    mail = inbound_mail()
    engine = create_engine(api.database_url)
    try:
        async with create_sessionmaker(engine).begin() as session:
            now = datetime.now(UTC)
            await claims.claim(session, message_id=mail["message_id"], at=now, stale_before=now)
    finally:
        await engine.dispose()
    response = await api.http.post(INBOUND, json=mail, headers=SERVICE)
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "in_progress"


async def test_only_a_service_token_may_post_email(api: Api) -> None:
    response = await api.http.post(INBOUND, json=inbound_mail(), headers=ALICE)
    assert response.status_code == 403
    anonymous = await api.http.post(INBOUND, json=inbound_mail())
    assert anonymous.status_code == 401
