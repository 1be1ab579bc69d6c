"""The codec server's protocol and who may call it: an admin token anywhere; without a
token only the dev UI (loopback, from its origin, under `CODEC_ALLOW_LOOPBACK`); CORS for
that origin only; the UI's bursts not refused by the rate limit."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.config import ApiSettings
from runtime.codec import new_key_entry
from runtime.settings import Settings
from tests.api.conftest import ADMIN, ALICE, SERVICE, TOKENS

UI = "http://127.0.0.1:8233"
KEYS = new_key_entry("k1")


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


PLAIN = {"metadata": {"encoding": b64(b"json/plain")}, "data": b64(b'"ana@example.com"')}


def make_app(tmp_path: Path, keys: str | None = KEYS, **bounds: Any) -> Any:
    settings = Settings.model_validate(
        {
            "TICKETFLOW_TOKENS": TOKENS,
            "TICKETFLOW_DATA_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}",
            **({"TICKETFLOW_PAYLOAD_KEYS": keys} if keys else {}),
        }
    )
    return create_app(settings, bounds=ApiSettings.model_validate(bounds))


@pytest.fixture
async def http(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = make_app(tmp_path, CODEC_ALLOW_LOOPBACK=True, CODEC_UI_ORIGIN=UI)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        yield client


async def test_encode_then_decode_gives_the_payload_back_and_plain_ones_pass(
    http: httpx.AsyncClient,
) -> None:
    encoded = await http.post("/codec/encode", json={"payloads": [PLAIN]}, headers=ADMIN)
    assert encoded.status_code == 200, encoded.text
    [sealed] = encoded.json()["payloads"]
    assert base64.b64decode(sealed["metadata"]["encoding"]) == b"binary/encrypted"
    assert "ana@example.com" not in base64.b64decode(sealed["data"]).decode("latin-1")
    decoded = await http.post("/codec/decode", json={"payloads": [sealed, PLAIN]}, headers=ADMIN)
    assert decoded.status_code == 200, decoded.text
    assert decoded.json() == {"payloads": [PLAIN, PLAIN]}


async def test_a_payload_it_cannot_read_is_a_422_in_the_error_shape(
    http: httpx.AsyncClient, tmp_path: Path
) -> None:
    other = make_app(tmp_path, new_key_entry("k2"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=other), base_url="http://a"
    ) as c:
        sealed = (await c.post("/codec/encode", json={"payloads": [PLAIN]}, headers=ADMIN)).json()
    refused = await http.post("/codec/decode", json=sealed, headers=ADMIN)
    assert refused.status_code == 422
    assert refused.json()["error"] == {
        "code": "undecodable",
        "message": "no payload key 'k2' in the keyring",
    }
    bad = await http.post(
        "/codec/decode", json={"payloads": [{"metadata": {}, "data": "%%"}]}, headers=ADMIN
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["message"] == "payloads[0].data: not base64"


async def test_x_namespace_must_be_the_served_namespace(http: httpx.AsyncClient) -> None:
    body = {"payloads": [PLAIN]}
    ours = await http.post("/codec/decode", json=body, headers={**ADMIN, "X-Namespace": "default"})
    assert ours.status_code == 200
    other = await http.post("/codec/decode", json=body, headers={**ADMIN, "X-Namespace": "prod"})
    assert other.status_code == 422
    assert "serves 'default'" in other.json()["error"]["message"]


async def test_without_keys_the_codec_changes_nothing(tmp_path: Path) -> None:
    app = make_app(tmp_path / "nokeys", None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a") as c:
        for route in ("/codec/encode", "/codec/decode"):
            answer = await c.post(route, json={"payloads": [PLAIN]}, headers=ADMIN)
            assert answer.json() == {"payloads": [PLAIN]}


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer nope"}, 401), (ALICE, 403), (SERVICE, 403)],
)
async def test_only_an_admin_token_decodes_outside_the_dev_ui(
    http: httpx.AsyncClient, headers: dict[str, str], status: int
) -> None:
    answer = await http.post("/codec/decode", json={"payloads": [PLAIN]}, headers=headers)
    assert answer.status_code == status
    assert answer.json()["error"]["code"] in ("unauthorized", "forbidden")


async def test_the_dev_ui_decodes_without_a_token_only_from_loopback_and_its_origin(
    tmp_path: Path,
) -> None:
    body = {"payloads": [PLAIN]}

    async def call(client: tuple[str, int], origin: str, **bounds: Any) -> int:
        app = make_app(tmp_path, **{"CODEC_UI_ORIGIN": UI, **bounds})
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
            answer = await c.post("/codec/decode", json=body, headers={"Origin": origin})
            return answer.status_code

    loopback, remote = ("127.0.0.1", 1), ("192.0.2.7", 1)
    assert await call(loopback, UI, CODEC_ALLOW_LOOPBACK=True) == 200
    assert await call(("::1", 1), UI, CODEC_ALLOW_LOOPBACK=True) == 200
    assert await call(remote, UI, CODEC_ALLOW_LOOPBACK=True) == 401
    assert await call(loopback, "http://evil.example", CODEC_ALLOW_LOOPBACK=True) == 401
    assert await call(loopback, UI) == 401  # production: not allowed at all


async def test_cors_answers_the_ui_origin_on_the_codec_routes_only(
    http: httpx.AsyncClient,
) -> None:
    preflight = {
        "Origin": UI,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace",
    }
    ok = await http.options("/codec/decode", headers=preflight)
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == UI
    assert "x-namespace" in ok.headers["access-control-allow-headers"].lower()
    stranger = await http.options("/codec/decode", headers={**preflight, "Origin": "http://x.y"})
    assert "access-control-allow-origin" not in stranger.headers
    elsewhere = await http.options("/v1/tickets", headers=preflight)
    assert "access-control-allow-origin" not in elsewhere.headers
    answer = await http.post("/codec/decode", json={"payloads": [PLAIN]}, headers={"Origin": UI})
    assert answer.headers["access-control-allow-origin"] == UI


async def test_a_burst_of_dev_ui_decodes_is_not_refused_by_the_rate_limit(
    http: httpx.AsyncClient,
) -> None:
    """A history page decodes each event at once; token-less callers get 40 at once, the
    dev UI's calls count in their own class (1000 at once)."""
    body, ui = {"payloads": [PLAIN]}, {"Origin": UI}
    answers = [await http.post("/codec/decode", json=body, headers=ui) for _ in range(200)]
    assert {a.status_code for a in answers} == {200}
    anonymous = [await http.get("/healthz") for _ in range(41)]
    assert anonymous[-1].status_code == 429
