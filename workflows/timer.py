"""`WakeupTimer`: the ticket's one timer, kept while its instant stays the same.

The loop recomputes the next wakeup after every update and every effect's outcome; most
of them leave it unchanged (a note, an email sent). Re-creating the timer each time cost
two history events (cancelled, started) per wake; this one is replaced only when the
instant moves. Deterministic workflow code.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from temporalio import workflow


class WakeupTimer:
    def __init__(self) -> None:
        self._due: datetime | None = None
        self._task: asyncio.Task[None] | None = None

    def arm(self, now: datetime, due: datetime | None, summary: str) -> None:
        """Fire at `due` (None: no timer); a timer already set for `due` is kept."""
        if self._task is not None and (self._due != due or self._task.done()):
            self._task.cancel()
            self._task = None
        self._due = due
        if due is not None and self._task is None:
            seconds = (due - now).total_seconds()
            self._task = asyncio.create_task(workflow.sleep(seconds, summary=summary))

    def fired(self) -> bool:
        return self._task is not None and self._task.done()
