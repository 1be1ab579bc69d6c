"""The environment our own tools (the bench, the fault suite, the tests) start ticketflow's
processes in: the caller's ticketflow settings left out, so a developer's `.env` or shell
never changes what is measured or tested, and ports that stay free until they are bound."""

from __future__ import annotations

import os
import random
import socket
from collections.abc import Iterable

from api.config import ApiSettings
from runtime.settings import REPO_ROOT, Settings
from ticketflow.dev import DevOptions

PORT_RANGE = (20000, 32000)
"""Ports are picked below Linux's ephemeral range (32768-60999): `bind(0)` picks inside it,
where any process's next outgoing connection may take the port before our server binds it."""
RESERVED_PORTS = frozenset({1025, 7233, 8000, 8233})  # a developer's `make run`


def setting_names() -> set[str]:
    """Every environment variable a ticketflow process reads as a setting: the runtime's,
    the API's and the dev stack's."""
    models = (Settings, ApiSettings, DevOptions)
    return {f.alias for model in models for f in model.model_fields.values() if f.alias}


def clean_env(*, drop: Iterable[str] = (), **overrides: str) -> dict[str, str]:
    """`os.environ` without any ticketflow setting nor the names in `drop`, the repository
    first on PYTHONPATH (run elsewhere, the editable install would resolve the top-level
    packages as namespace packages), then `overrides`."""
    left_out = setting_names() | set(drop)
    env = {name: value for name, value in os.environ.items() if name not in left_out}
    python_path = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    return {**env, "PYTHONPATH": python_path, **overrides}


def free_port(taken: set[int] | None = None) -> int:
    """A port on 127.0.0.1 that was free a moment ago, in `PORT_RANGE` and not in `taken`
    (to which it is added)."""
    taken = taken if taken is not None else set()
    for _ in range(500):
        port = random.randrange(*PORT_RANGE)
        if port in RESERVED_PORTS or port in taken:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port
    raise RuntimeError(f"no free port in {PORT_RANGE}")


def free_ports(count: int) -> list[int]:
    """`count` distinct ports that were free a moment ago."""
    taken: set[int] = set()
    return [free_port(taken) for _ in range(count)]
