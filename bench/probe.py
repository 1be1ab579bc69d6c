"""Watching the outcome of intake from outside: store rows and the SMTP sink's `.eml` files.

A ticket is *acknowledged* when its row is in the store's `tickets` table and
the sink has accepted an email whose Subject carries `[<ticket id>]`.
The watch polls both every `interval` seconds and stamps each ticket with the
`time.perf_counter()` of the poll that first saw it acknowledged, so latencies
measured through it are late by at most one interval.

The sink names each file by the moment it received the message (`ticketflow.smtp_sink`),
so `MailBox` also knows when each message about a ticket arrived, to the microsecond.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path

from bench.store_probe import StoreProbe

_SUBJECT_TAG = re.compile(r"\[([^\[\]\s]+)\]")
_HEADERS = BytesHeaderParser(policy=policy.default)
POLL_SECONDS = 0.05


def subject_ticket_ids(subject: str) -> list[str]:
    """Every `[...]` tag in a Subject, e.g. `Re: [TKT-000042] Invoice` -> `["TKT-000042"]`."""
    return _SUBJECT_TAG.findall(subject)


def read_subject(path: Path) -> str:
    with path.open("rb") as file:
        return str(_HEADERS.parse(file).get("Subject", ""))


def received_at(path: Path) -> float:
    """When the sink received the message (epoch seconds): from its file name
    (`20260301T091502.123456Z-3f9c2a1b.eml`), else the file's modification time."""
    try:
        stamp = datetime.strptime(path.name[:23], "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return path.stat().st_mtime
    return stamp.timestamp()


class MailBox:
    """Counts the sink's messages per ticket id (from the Subject) and keeps, per ticket, when
    each arrived and its Subject (`messages`, in arrival order); reads each file once."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.per_ticket: Counter[str] = Counter()
        self.messages: dict[str, list[tuple[float, str]]] = {}
        self._read: set[str] = set()

    def scan(self) -> None:
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:  # the sink creates it with its first message
            return
        touched: set[str] = set()
        for entry in entries:
            # The sink writes `.name.tmp`, then renames: only complete `.eml` files count.
            if entry.name in self._read or entry.name.startswith(".") or not entry.is_file():
                continue
            if not entry.name.endswith(".eml"):
                continue
            self._read.add(entry.name)
            path = Path(entry.path)
            subject = read_subject(path)
            tickets = set(subject_ticket_ids(subject))
            self.per_ticket.update(tickets)
            arrived = received_at(path)
            for ticket_id in tickets:
                self.messages.setdefault(ticket_id, []).append((arrived, subject))
                touched.add(ticket_id)
        for ticket_id in touched:  # files are listed in no particular order
            self.messages[ticket_id].sort()

    def total(self, ticket_ids: Iterable[str]) -> int:
        return sum(self.per_ticket[t] for t in ticket_ids)


class AckWatch:
    """Stamps tickets as they become acknowledged; `wait()` polls until all expected are."""

    def __init__(self, mail_dir: Path, store: StoreProbe, interval: float = POLL_SECONDS) -> None:
        self.mail = MailBox(mail_dir)
        self.store = store
        self.interval = interval
        self.acked_at: dict[str, float] = {}

    def poll(self, expected: Iterable[str]) -> None:
        pending = [t for t in expected if t not in self.acked_at]
        if not pending:
            return
        self.mail.scan()
        mailed = [t for t in pending if self.mail.per_ticket[t] > 0]
        if not mailed:
            return
        stored = self.store.stored(mailed)
        now = time.perf_counter()
        for ticket_id in mailed:
            if ticket_id in stored:
                self.acked_at[ticket_id] = now

    async def follow(self, expected: Callable[[], list[str]], stop: asyncio.Event) -> None:
        """Poll for the tickets `expected()` names at each poll, until `stop` is set."""
        while not stop.is_set():
            await asyncio.to_thread(self.poll, expected())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)

    async def wait(self, expected: Iterable[str], seconds: float) -> None:
        """Until every expected ticket is acknowledged, or TimeoutError after `seconds`."""
        wanted = list(expected)
        deadline = time.monotonic() + seconds
        while True:
            await asyncio.to_thread(self.poll, wanted)
            missing = [t for t in wanted if t not in self.acked_at]
            if not missing:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{len(missing)} of {len(wanted)} tickets not acknowledged after "
                    f"{seconds:.0f} s (e.g. {missing[0]})"
                )
            await asyncio.sleep(self.interval)

    async def wait_for_mail(self, ticket_ids: Iterable[str], count: int, seconds: float) -> None:
        """Until the sink holds `count` messages about these tickets in all (a quiet system)."""
        wanted = list(ticket_ids)
        deadline = time.monotonic() + seconds
        while True:
            await asyncio.to_thread(self.mail.scan)
            have = self.mail.total(wanted)
            if have >= count:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{have} of {count} emails after {seconds:.0f} s")
            await asyncio.sleep(self.interval)
