"""Customer data in Temporal history only as ciphertext: a ticket made through the API on the
real dev server, its history read without the codec (the `temporal` CLI) and with the codec
server (`/codec/decode`, and the CLI's `--codec-endpoint`); a key rotation."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from runtime.codec import KEY_ID, EncryptionCodec, Keyring, data_converter, new_key_entry
from runtime.settings import Settings
from tests.api.conftest import ADMIN, ALICE, SERVICE, TOKENS
from tests.conftest import DEV_SERVER, Mailbox
from tests.workflows.harness import running_worker
from ticketflow.environment import free_port

EMAIL, NAME = "ana.novak@example.com", "Ana Novak"
SUBJECT, BODY = "Invoice 4711 vanished", "My account 88-1234 shows no invoice since Monday."
REPLY = "Still nothing here, Ana"
SECRETS = (EMAIL, NAME, SUBJECT, BODY, REPLY, "ana.novak")
TICKET = {
    "requester": {"email": EMAIL, "name": NAME, "plan": "starter"},
    "subject": SUBJECT,
    "description": BODY,
    "channel": "portal",
    "priority": "P2",
}


@dataclass
class Desk:
    http: httpx.AsyncClient
    client: Client
    app: Any


def with_codec(base: Client, keys: str | None) -> Client:
    """`base`'s connection with the payload codec of `keys` (or none: plain payloads)."""
    codec = EncryptionCodec(Keyring.parse(keys)) if keys else None
    config = base.config()
    config["data_converter"] = data_converter(codec)
    return Client(**config)


@dataclass(frozen=True)
class Where:
    task_queue: str
    database_url: str
    smtp_port: int
    data_dir: Path
    prefix: str = "TKT"


@asynccontextmanager
async def desk(
    env: WorkflowEnvironment, keys: str | None, where: Where, *, cache: int = 1000
) -> AsyncIterator[Desk]:
    """The API and a worker, both with the codec of `keys`, as a deployment runs them;
    `cache=0`: a worker that leaves no sticky queue behind for the next one to wait out."""
    client = with_codec(env.client, keys)
    settings = Settings.model_validate(
        {
            "DATABASE_URL": where.database_url,
            "TEMPORAL_TASK_QUEUE": where.task_queue,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": where.smtp_port,
            "TICKETFLOW_TOKENS": TOKENS,
            "TICKETFLOW_TICKET_PREFIX": where.prefix,
            "TICKETFLOW_DATA_DIR": str(where.data_dir),
            **({"TICKETFLOW_PAYLOAD_KEYS": keys} if keys else {}),
        }
    )
    app = create_app(settings, temporal=client)
    async with (
        running_worker(
            client,
            where.task_queue,
            where.database_url,
            where.smtp_port,
            max_cached_workflows=cache,
        ),
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http,
    ):
        yield Desk(http=http, client=client, app=app)


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
    elif isinstance(node, str):
        yield node


def readable(history_json: str) -> str:
    """Every string of a history's JSON, and each base64 one decoded: what a reader without
    the codec can see (payload data and search attributes are base64 in the JSON)."""
    seen = []
    for text in _strings(json.loads(history_json)):
        seen.append(text)
        with suppress(binascii.Error, ValueError):
            seen.append(base64.b64decode(text, validate=True).decode("utf-8", "replace"))
    return "\n".join(seen)


def payloads_in(node: Any) -> Iterator[dict[str, Any]]:
    """Every payload (`{"metadata": …, "data": …}`) in a history's JSON."""
    if isinstance(node, dict):
        if "data" in node and isinstance(node.get("metadata"), dict):
            yield node
        for value in node.values():
            yield from payloads_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from payloads_in(value)


async def cli(*args: str, check: bool = True) -> str:
    proc = await asyncio.create_subprocess_exec(
        str(DEV_SERVER), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0 or not check, err.decode()
    return out.decode() + err.decode()


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """`app` over real HTTP on a loopback port, as the UI and the CLI reach the codec."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_history_without_the_codec_holds_no_customer_data_and_decodes_with_it(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    sqlite_url: str,
    smtp: tuple[Mailbox, int],
    tmp_path: Path,
) -> None:
    box, port = smtp
    prefix = f"C{uuid.uuid4().hex[:5].upper()}"  # the dev server is shared by the session
    keys = new_key_entry("k1")
    where = Where(task_queue, sqlite_url, port, tmp_path, prefix)
    async with desk(dev_env, keys, where) as api:
        created = await api.http.post("/v1/tickets", json=TICKET, headers=SERVICE)
        assert created.status_code == 201, created.text
        ticket_id = created.json()["id"]
        await box.wait_for(1)  # the acknowledgment: an activity ran with the customer's data
        replied = await api.http.post(
            f"/v1/tickets/{ticket_id}/customer-reply", json={"body": REPLY}, headers=SERVICE
        )
        assert replied.status_code == 200, replied.text
        answered = await api.http.post(
            f"/v1/tickets/{ticket_id}/reply", json={"body": "Looking at it"}, headers=ALICE
        )
        assert answered.status_code == 200, answered.text

        address = dev_env.client.service_client.config.target_host
        show = ("workflow", "show", "--address", address, "-w", ticket_id, "--output", "json")
        raw = await cli(*show)
        visible = readable(raw)
        assert "Looking at it" not in visible
        for secret in SECRETS:
            assert secret not in visible, secret
        assert "binary/encrypted" in visible
        assert ticket_id in visible

        # The summary names no customer: priority, category, channel (and is encrypted too).
        described = await api.client.get_workflow_handle(ticket_id).describe()
        category = created.json()["category"]
        assert await described.static_summary() == f"[P2] {category} via portal"

        # The codec server decodes the same payloads for an operator.
        payloads = list(payloads_in(json.loads(raw)))
        decoded = await api.http.post(
            "/codec/decode",
            json={"payloads": payloads},
            headers={**ADMIN, "X-Namespace": "default"},
        )
        assert decoded.status_code == 200, decoded.text
        clear = readable(json.dumps(decoded.json()))
        for secret in SECRETS:
            assert secret in clear, secret
        assert "binary/encrypted" not in clear

        # And so does the CLI, with the codec endpoint and an admin token.
        async with serving(api.app) as url:
            shown = await cli(
                *show, "--codec-endpoint", f"{url}/codec", "--codec-auth", "Bearer admin-token"
            )
        assert EMAIL in readable(shown)
        assert BODY in readable(shown)


async def test_the_same_check_finds_customer_data_in_a_history_without_encryption(
    time_env: WorkflowEnvironment,
    task_queue: str,
    sqlite_url: str,
    smtp: tuple[Mailbox, int],
    tmp_path: Path,
) -> None:
    """The control: `readable` does see a plain history's customer data."""
    where = Where(task_queue, sqlite_url, smtp[1], tmp_path)
    async with desk(time_env, None, where) as api:
        created = await api.http.post("/v1/tickets", json=TICKET, headers=SERVICE)
        assert created.status_code == 201, created.text
        history = await api.client.get_workflow_handle(created.json()["id"]).fetch_history()
    visible = readable(history.to_json())
    assert EMAIL in visible
    assert SUBJECT in visible
    assert BODY in visible


async def test_after_a_key_rotation_old_tickets_still_decode_and_new_payloads_use_the_new_key(
    time_env: WorkflowEnvironment,
    task_queue: str,
    sqlite_url: str,
    smtp: tuple[Mailbox, int],
    tmp_path: Path,
) -> None:
    key_a, key_b = new_key_entry("a"), new_key_entry("b")
    where = Where(task_queue, sqlite_url, smtp[1], tmp_path)
    async with desk(time_env, key_a, where, cache=0) as before:
        created = await before.http.post("/v1/tickets", json=TICKET, headers=SERVICE)
        assert created.status_code == 201, created.text
        old_id = created.json()["id"]

    # Rotated: B encrypts, A stays in the ring to read what it encrypted.
    async with desk(time_env, f"{key_b},{key_a}", where) as after:
        read = await after.http.get(f"/v1/tickets/{old_id}", headers=ALICE)  # a query
        assert read.status_code == 200, read.text
        assert read.json()["requester"]["email"] == EMAIL
        replied = await after.http.post(  # an Update: the worker replays A's history
            f"/v1/tickets/{old_id}/customer-reply", json={"body": REPLY}, headers=SERVICE
        )
        assert replied.status_code == 200, replied.text
        created = await after.http.post("/v1/tickets", json=TICKET, headers=SERVICE)
        new_id = created.json()["id"]
        old_history = await time_env.client.get_workflow_handle(old_id).fetch_history()
        new_history = await time_env.client.get_workflow_handle(new_id).fetch_history()

    def key_ids(history_json: str) -> list[str]:
        ids = [p["metadata"].get(KEY_ID) for p in payloads_in(json.loads(history_json))]
        return [base64.b64decode(i).decode() for i in ids if i]

    old_keys, new_keys = key_ids(old_history.to_json()), key_ids(new_history.to_json())
    assert old_keys[0] == "a"
    assert "b" in old_keys
    assert set(new_keys) == {"b"}


async def test_the_readme_repair_commands_work_through_the_codec_server(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    sqlite_url: str,
    smtp: tuple[Mailbox, int],
    tmp_path: Path,
) -> None:
    """`temporal workflow update execute` / `query` with `TEMPORAL_CODEC_ENDPOINT` and
    `TEMPORAL_CODEC_AUTH` set: the input is encrypted by `/codec/encode` before it enters
    history, the results come back decoded; a plain input (no codec) is still accepted."""
    prefix = f"R{uuid.uuid4().hex[:5].upper()}"
    where = Where(task_queue, sqlite_url, smtp[1], tmp_path, prefix)
    async with desk(dev_env, new_key_entry("k1"), where) as api:
        created = await api.http.post("/v1/tickets", json=TICKET, headers=SERVICE)
        ticket_id = created.json()["id"]
        address = dev_env.client.service_client.config.target_host
        target = ("--address", address, "--workflow-id", ticket_id)
        async with serving(api.app) as url:
            codec = ("--codec-endpoint", f"{url}/codec", "--codec-auth", "Bearer admin-token")
            secret_note = "Called Ana back on +1 555 0100"
            note = json.dumps({"actor": "ops", "body": secret_note})
            updated = await cli(
                "workflow", "update", "execute", *target, "--name", "note",
                "--input", note, "-o", "json", *codec,
            )  # fmt: skip
            assert EMAIL in updated  # the result (the ticket's state), decoded
            queried = await cli(
                "workflow", "query", *target, "--type", "state", "-o", "json", *codec
            )
            assert BODY in queried
            # Without the codec the input goes in plain and is applied; only the (encrypted)
            # result cannot be shown.
            plain = json.dumps({"actor": "ops", "body": "plain from the CLI"})
            shown = await cli(
                "workflow", "update", "execute", *target, "--name", "note", "--input", plain,
                check=False,
            )  # fmt: skip
            assert "binary/encrypted: payload encoding is not supported" in shown
        raw = readable(await cli("workflow", "show", *target, "--output", "json"))
        assert secret_note not in raw  # encrypted by the codec server on its way in
        assert "plain from the CLI" in raw  # an operator's plain payload was accepted
