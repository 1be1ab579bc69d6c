"""Customer data encrypted in Temporal history: an AES-256-GCM payload codec and its keyring.

Every payload the SDK writes (workflow input, Update arguments and results, activity
inputs, query results, summaries) passes through `EncryptionCodec.encode` in our
processes, outside the workflow sandbox; the server, its database and anyone reading
the namespace without the codec see only ciphertext.

Invariants:
- An encrypted payload is marked `encoding: binary/encrypted` and names its key in
  `encryption-key-id`; its data is a 12-byte nonce followed by the ciphertext of the
  serialized original payload, authenticated with the key id as associated data (a
  payload cannot be moved under another key's name).
- `encode` always uses the active key; `decode` uses whichever key of the ring the
  payload names, so a rotation (new key active, old ones kept) keeps old histories
  readable. A payload without the marker passes through `decode` untouched: the recorded
  histories of the tests and the plain payloads an operator sends with the `temporal` CLI
  are accepted as they are.
- The keyring comes from `TICKETFLOW_PAYLOAD_KEYS` (`id:base64key,…`, 32-byte keys), the
  active key from `TICKETFLOW_PAYLOAD_ACTIVE_KEY` (default: the first listed); without
  them, from the development key file `ticketflow dev` keeps in the data directory.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, PayloadCodec

from runtime.settings import Settings

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12
KEY_BYTES = 32
DEV_KEY_FILE = "payload-keys"
"""In the data directory: the keyring `ticketflow dev` generates when none is set (0600)."""
_KEY_ID_SHAPE = re.compile(r"[A-Za-z0-9._-]{1,64}")


class PayloadKeyError(ValueError):
    """A bad keyring, or a payload this keyring cannot decrypt. Never shows a key."""


@dataclass(frozen=True)
class Keyring:
    """Keys by id; `active` encrypts, every key decrypts what names it."""

    keys: Mapping[str, bytes]
    active: str

    def __post_init__(self) -> None:
        if self.active not in self.keys:
            raise PayloadKeyError(f"the active payload key {self.active!r} is not in the keyring")

    def __repr__(self) -> str:
        return f"Keyring(ids={sorted(self.keys)}, active={self.active!r})"

    @classmethod
    def parse(cls, spec: str, active: str | None = None) -> Keyring:
        """`id:base64key,…`; `active` defaults to the first id. Errors name entries by
        position, never their text."""
        keys: dict[str, bytes] = {}
        for index, raw in enumerate(spec.split(","), start=1):
            entry = raw.strip()
            if not entry:
                continue
            key_id, sep, encoded = entry.partition(":")
            where = f"TICKETFLOW_PAYLOAD_KEYS entry {index}"
            if not sep or not _KEY_ID_SHAPE.fullmatch(key_id):
                raise PayloadKeyError(f"{where}: expected id:base64key (id: letters, digits, ._-)")
            try:
                key = base64.b64decode(encoded.strip(), validate=True)
            except (binascii.Error, ValueError):
                raise PayloadKeyError(f"{where}: the key is not base64") from None
            if len(key) != KEY_BYTES:
                raise PayloadKeyError(f"{where}: the key must be {KEY_BYTES} bytes (AES-256)")
            if key_id in keys:
                raise PayloadKeyError(f"{where}: the key id {key_id!r} is listed twice")
            keys[key_id] = key
        if not keys:
            raise PayloadKeyError("TICKETFLOW_PAYLOAD_KEYS holds no key")
        return cls(keys=keys, active=active or next(iter(keys)))


def new_key_entry(key_id: str) -> str:
    """A fresh `id:base64key` entry (32 random bytes)."""
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()}"


def dev_keyring_file(data_dir: Path) -> Path:
    """The development keyring in `data_dir`, created once (mode 0600) and kept after."""
    path = data_dir / DEV_KEY_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    entry = new_key_entry(f"dev-{datetime.now(UTC):%Y%m%d}")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    with os.fdopen(fd, "w") as out:
        out.write(entry + "\n")
    return path


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over each whole payload, under the keyring's active key."""

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keyring.keys.items()}

    @property
    def active_key_id(self) -> str:
        return self._keyring.active

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        key_id = self._keyring.active
        cipher = self._ciphers[key_id]
        encoded = []
        for payload in payloads:
            nonce = secrets.token_bytes(NONCE_BYTES)
            sealed = cipher.encrypt(nonce, payload.SerializeToString(), key_id.encode())
            encoded.append(
                Payload(
                    metadata={"encoding": ENCODING, KEY_ID: key_id.encode()},
                    data=nonce + sealed,
                )
            )
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decode_one(payload) for payload in payloads]

    def _decode_one(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # plain: a recorded history, or an operator's CLI input
        key_id = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadKeyError(f"no payload key {key_id!r} in the keyring")
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            return Payload.FromString(cipher.decrypt(nonce, sealed, key_id.encode()))
        except InvalidTag:
            raise PayloadKeyError(f"a payload under key {key_id!r} failed to decrypt") from None


def keyring_from(spec: str | None, active: str | None, data_dir: Path) -> Keyring | None:
    """The configured keyring, else the development one in `data_dir` if it exists."""
    if spec:
        return Keyring.parse(spec, active)
    dev_file = data_dir / DEV_KEY_FILE
    if dev_file.is_file():
        return Keyring.parse(dev_file.read_text(), active)
    return None


def data_dir_codec(data_dir: Path) -> EncryptionCodec | None:
    """The codec of the development keyring in `data_dir`, if `ticketflow dev` made one
    there: what a tool beside a dev stack (the bench) decodes its payloads with."""
    keyring = keyring_from(None, None, data_dir)
    return EncryptionCodec(keyring) if keyring else None


def settings_codec(settings: Settings) -> EncryptionCodec | None:
    """The codec of this process's settings, or None: no keyring, payloads in clear."""
    spec = settings.payload_keys.get_secret_value() if settings.payload_keys else None
    keyring = keyring_from(spec, settings.payload_active_key, settings.data_dir)
    return EncryptionCodec(keyring) if keyring else None


def data_converter(codec: PayloadCodec | None) -> DataConverter:
    """The pydantic data converter, with `codec` (if any) over its payloads."""
    if codec is None:
        return pydantic_data_converter
    return dataclasses.replace(pydantic_data_converter, payload_codec=codec)
