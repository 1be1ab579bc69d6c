"""Tests of the `ticketflow` command, `ticketflow dev` and the SMTP sink.

Helpers shared by these tests live here: they start real processes, so they
need free ports and an environment that the developer's shell cannot leak into.
"""

from __future__ import annotations

from ticketflow.environment import clean_env, free_port

__all__ = ["clean_env", "free_port"]
