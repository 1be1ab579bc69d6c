"""U+0000 in any request text is a 422 at the edge, on both backends.

PostgreSQL's text cannot hold it: a NUL in a filter was a 500, and one in a description
would have been accepted by the workflow and then failed its projection. SQLite stores
it, so the test runs on both to keep the answer the same.
"""

from __future__ import annotations

import json

from tests.api.conftest import ALICE, SERVICE, serving
from tests.api.test_bounds import assert_error, build

TICKET = {
    "requester": {"email": "ana@example.com"},
    "subject": "Invoice",
    "description": "first line\u0000second",
    "channel": "email",
}


async def test_nul_in_a_query_or_path_is_422(database_url: str) -> None:
    async with serving(build(database_url)) as http:
        answers = [
            await http.get("/v1/tickets", params={"team": "a\x00b"}, headers=ALICE),
            await http.get("/v1/metrics/summary", params={"team": "\x00"}, headers=ALICE),
            await http.get("/v1/tickets/TKT-%00/events", headers=ALICE),
        ]
        fine = await http.get("/v1/tickets", params={"team": "a%00b"}, headers=ALICE)
    for answer in answers:
        assert "NUL" in assert_error(answer, 422, "validation_error")["message"]
    assert fine.status_code == 200  # the characters `%00`, sent encoded, are only text


async def test_nul_anywhere_in_a_json_body_is_422(database_url: str) -> None:
    nested = {**TICKET, "description": "ok", "tags": ["a", "b\u0000"]}
    async with serving(build(database_url)) as http:
        refused = [
            await http.post("/v1/tickets", json=body, headers=SERVICE) for body in (TICKET, nested)
        ]
        listed = await http.get("/v1/tickets", headers=ALICE)
    for answer in refused:
        assert "body" in assert_error(answer, 422, "validation_error")["message"]
    assert listed.json()["items"] == []


async def test_an_escaped_backslash_before_u0000_is_only_text(sqlite_url: str) -> None:
    # The JSON text `"\\u0000"` is a backslash and "u0000", no NUL: the route decides.
    body = json.dumps({"subject": "\\u0000"}).encode()
    assert b"\\\\u0000" in body
    async with serving(build(sqlite_url)) as http:
        answer = await http.post(
            "/v1/tickets",
            content=body,
            headers={**SERVICE, "Content-Type": "application/json"},
        )
    assert "requester" in assert_error(answer, 422, "validation_error")["message"]


async def test_a_body_that_is_not_utf8_is_422_not_400(sqlite_url: str) -> None:
    """Found by the fuzz: the framework answered 400, outside the API's error statuses."""
    async with serving(build(sqlite_url)) as http:
        answer = await http.post(
            "/v1/tickets",
            content=b'{"subject": "\xff"}',
            headers={**SERVICE, "Content-Type": "application/json"},
        )
    assert "body" in assert_error(answer, 422, "validation_error")["message"]
