"""Tests of the `ticketflow` command, `ticketflow dev` and the SMTP sink.

Helpers shared by these tests live here: they start real processes, so they
need free ports and an environment that the developer's shell cannot leak into.
"""

from __future__ import annotations

import os
import socket

from runtime.settings import REPO_ROOT, Settings
from ticketflow.dev import DevOptions


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_env(**overrides: str) -> dict[str, str]:
    """`os.environ` without any ticketflow setting, plus `overrides`.

    PYTHONPATH is the repository, as for `make run` (started at the repository
    root): run elsewhere, the editable install resolves the top-level packages
    as namespace packages.
    """
    fields = [*Settings.model_fields.values(), *DevOptions.model_fields.values()]
    settings = {field.alias for field in fields}
    env = {name: value for name, value in os.environ.items() if name not in settings}
    return {**env, "PYTHONPATH": str(REPO_ROOT), **overrides}
