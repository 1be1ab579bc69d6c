"""The payload codec: AES-256-GCM per payload, a key id in its metadata, a keyring that
rotates, plain payloads passed through, the development key file."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload

from runtime.codec import (
    DEV_KEY_FILE,
    ENCODING,
    KEY_ID,
    EncryptionCodec,
    Keyring,
    PayloadKeyError,
    data_converter,
    dev_keyring_file,
    keyring_from,
    new_key_entry,
    settings_codec,
)
from runtime.settings import Settings

KEY_A, KEY_B = new_key_entry("a"), new_key_entry("b")
SECRET = b'{"email": "ana.novak@example.com", "name": "Ana Novak"}'


def plain(data: bytes = SECRET) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


async def test_a_payload_is_encrypted_under_the_active_key_and_decrypts_back() -> None:
    codec = EncryptionCodec(Keyring.parse(KEY_A))
    [sealed] = await codec.encode([plain()])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID] == b"a"
    assert b"ana.novak" not in sealed.SerializeToString()
    assert b"json/plain" not in sealed.SerializeToString()  # the original metadata is inside
    assert await codec.decode([sealed]) == [plain()]


async def test_the_same_payload_twice_gives_two_ciphertexts() -> None:
    codec = EncryptionCodec(Keyring.parse(KEY_A))
    first, second = await codec.encode([plain(), plain()])
    assert first.data != second.data


async def test_plain_payloads_pass_through_decode_untouched() -> None:
    codec = EncryptionCodec(Keyring.parse(KEY_A))
    untagged = Payload(data=b"raw")
    assert await codec.decode([plain(), untagged]) == [plain(), untagged]


async def test_after_a_rotation_old_payloads_decode_and_new_ones_use_the_new_key() -> None:
    before = EncryptionCodec(Keyring.parse(KEY_A))
    [old] = await before.encode([plain()])
    rotated = EncryptionCodec(Keyring.parse(f"{KEY_B},{KEY_A}"))
    assert rotated.active_key_id == "b"
    [new] = await rotated.encode([plain()])
    assert new.metadata[KEY_ID] == b"b"
    assert await rotated.decode([old, new]) == [plain(), plain()]
    # The active key may also be named instead of listed first.
    named = EncryptionCodec(Keyring.parse(f"{KEY_A},{KEY_B}", active="b"))
    assert named.active_key_id == "b"


async def test_a_payload_under_a_key_not_in_the_ring_or_tampered_is_refused() -> None:
    [sealed] = await EncryptionCodec(Keyring.parse(KEY_A)).encode([plain()])
    with pytest.raises(PayloadKeyError, match="no payload key 'a'"):
        await EncryptionCodec(Keyring.parse(KEY_B)).decode([sealed])
    # Moved under another key's name: the key id is authenticated with the data.
    same_key_other_name = "c:" + KEY_A.partition(":")[2]
    relabelled = Payload(metadata={"encoding": ENCODING, KEY_ID: b"c"}, data=sealed.data)
    with pytest.raises(PayloadKeyError, match="failed to decrypt"):
        await EncryptionCodec(Keyring.parse(same_key_other_name)).decode([relabelled])
    flipped = Payload(metadata=sealed.metadata, data=sealed.data[:-1] + b"\0")
    with pytest.raises(PayloadKeyError, match="failed to decrypt"):
        await EncryptionCodec(Keyring.parse(KEY_A)).decode([flipped])


@pytest.mark.parametrize(
    ("spec", "active", "message"),
    [
        ("", None, "holds no key"),
        ("nokey", None, "entry 1: expected id:base64key"),
        ("a:not base64!", None, "entry 1: the key is not base64"),
        (f"a:{base64.b64encode(b'short').decode()}", None, "entry 1: the key must be 32 bytes"),
        (f"{KEY_A},{KEY_A}", None, "entry 2: the key id 'a' is listed twice"),
        (KEY_A, "b", "the active payload key 'b' is not in the keyring"),
    ],
)
def test_a_bad_keyring_is_refused_without_showing_a_key(
    spec: str, active: str | None, message: str
) -> None:
    with pytest.raises(PayloadKeyError, match=message) as caught:
        Keyring.parse(spec, active)
    assert KEY_A.partition(":")[2] not in str(caught.value)


def test_a_keyring_shows_its_ids_never_its_keys() -> None:
    ring = Keyring.parse(f"{KEY_A},{KEY_B}")
    assert repr(ring) == "Keyring(ids=['a', 'b'], active='a')"


def test_the_dev_key_file_is_created_once_private_and_found_by_every_process(
    tmp_path: Path,
) -> None:
    path = dev_keyring_file(tmp_path / "data")
    assert path == tmp_path / "data" / DEV_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = path.read_text()
    assert dev_keyring_file(tmp_path / "data").read_text() == first  # kept, not replaced
    found = keyring_from(None, None, tmp_path / "data")
    assert found is not None
    assert found.active.startswith("dev-")
    assert keyring_from(None, None, tmp_path / "elsewhere") is None


def test_settings_choose_the_environment_keyring_over_the_dev_file(tmp_path: Path) -> None:
    dev_keyring_file(tmp_path)
    env = Settings.model_validate(
        {
            "TICKETFLOW_DATA_DIR": str(tmp_path),
            "TICKETFLOW_PAYLOAD_KEYS": f"{KEY_A},{KEY_B}",
            "TICKETFLOW_PAYLOAD_ACTIVE_KEY": "b",
        }
    )
    codec = settings_codec(env)
    assert codec is not None
    assert codec.active_key_id == "b"
    assert KEY_A.partition(":")[2] not in repr(env)
    none = Settings.model_validate({"TICKETFLOW_DATA_DIR": str(tmp_path / "empty")})
    assert settings_codec(none) is None
    assert data_converter(None).payload_codec is None
    assert data_converter(codec).payload_codec is codec
