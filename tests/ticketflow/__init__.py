"""Tests of the `ticketflow` command, `ticketflow dev` and the SMTP sink.

Helpers shared by these tests live here: they start real processes, so they
need free ports and an environment that the developer's shell cannot leak into.
"""

from __future__ import annotations

import socket

from ticketflow.environment import clean_env

__all__ = ["clean_env", "free_port"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
