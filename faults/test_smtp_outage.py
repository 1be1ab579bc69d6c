"""SMTP refuses connections for 3 minutes while 20 P1 tickets pass their due times.

Promised (issue 9): every breach is applied within 1 s of its due time, in the
workflow's history (`SlaBreached=true` upserted) and in the store (`sla_breached`
row), while SMTP is still down; once SMTP is back, every email arrives exactly once.

The outage starts before the tickets are created, so their acknowledgments, at-risk
alerts and breach emails all wait for SMTP; only the decisions must not.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter

from faults.api import Api, first_response_due
from faults.conftest import MakeStack
from faults.history import breach_applied_at
from faults.observe import describe_all, expected_emails, histories, pending_activities
from faults.report import Report
from faults.stack import FaultStack
from faults.store import StoreDown
from faults.support import FaultError, eventually, say, spread

CASE = "smtp"
TICKETS = 20
FIRST_RESPONSE_SECONDS = 60
CREATE_GAP_SECONDS = 0.5  # spreads the due times over ~10 s
OUTAGE_SECONDS = 180.0
LATENESS_LIMIT_SECONDS = 1.0
STORE_POLL_SECONDS = 0.1
DRAIN_TIMEOUT_SECONDS = 300.0  # after SMTP returns: the mail retry backoff reaches ~2 min
MUST_ARRIVE = ("acknowledgment", "sla_breach_apology")
"""Per ticket, whatever else is sent: the customer's acknowledgment and breach apology."""


async def test_smtp_outage_delays_no_breach_and_sends_every_email_once(stacks: MakeStack) -> None:
    report = Report(
        f"SMTP outage: refused for {OUTAGE_SECONDS:.0f} s while {TICKETS} P1 tickets breach"
    )
    try:
        await _run(await stacks(first_response_seconds=FIRST_RESPONSE_SECONDS), report)
    except FaultError as err:
        report.error(str(err))
    except BaseException:
        report.print()
        raise
    report.conclude()


async def _create(stack: FaultStack, report: Report) -> dict[str, float]:
    """The tickets and their first-response due times (epoch seconds)."""
    due: dict[str, float] = {}
    async with Api(stack.api_url) as api:
        for index in range(TICKETS):
            answer = await api.create(CASE, index, "P1")
            if answer.status_code != 201:
                raise FaultError(f"create #{index}: {answer.status_code} {answer.text[:200]}")
            ticket = answer.json()
            due[ticket["id"]] = first_response_due(ticket)
            await asyncio.sleep(CREATE_GAP_SECONDS)
    report.figure(
        "tickets created while SMTP down",
        f"{len(due)} (P1, first response {FIRST_RESPONSE_SECONDS} s)",
    )
    return due


async def _watch_store(stack: FaultStack, ticket_ids: set[str], seen: dict[str, float]) -> None:
    """Stamp when each ticket's `sla_breached` row is first seen in the store; until cancelled."""
    while len(seen) < len(ticket_ids):
        try:
            rows = await stack.store.read(lambda: stack.store.events("sla_breached"))
        except StoreDown:
            rows = []
        now = time.time()
        for row in rows:
            if row.ticket_id in ticket_ids:
                seen.setdefault(row.ticket_id, now)
        await asyncio.sleep(STORE_POLL_SECONDS)


async def _run(stack: FaultStack, report: Report) -> None:
    stack.smtp.stop()
    down_at = time.time()
    say(f"SMTP stopped (port {stack.smtp_port} refuses connections); creating {TICKETS} tickets")
    due = await _create(stack, report)
    ids = set(due)
    first, last = min(due.values()), max(due.values())
    report.figure("due times", f"{first - down_at:.1f} s to {last - down_at:.1f} s into the outage")
    if last + 5 > down_at + OUTAGE_SECONDS:
        raise FaultError("tickets were created too slowly: their due times pass after the outage")
    say(f"watching the store; SMTP returns at +{OUTAGE_SECONDS:.0f} s")
    seen: dict[str, float] = {}
    watch = asyncio.create_task(_watch_store(stack, ids, seen))
    try:
        up_at = await _outage_then_drain(stack, ids, down_at, report)
        await _figures(stack, report, due, seen, up_at)
    finally:
        watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch


async def _outage_then_drain(
    stack: FaultStack, ids: set[str], down_at: float, report: Report
) -> float:
    """Keep SMTP down until the outage ends, bring it back, wait for every email; when it
    came back."""
    while time.time() < down_at + OUTAGE_SECONDS:
        if dead := stack.check_alive():
            raise FaultError("; ".join(dead))
        await asyncio.sleep(min(1.0, max(0.0, down_at + OUTAGE_SECONDS - time.time())))
    stack.smtp.start()
    up_at = time.time()
    say(f"SMTP back after {up_at - down_at:.1f} s; waiting for every email")
    report.figure("SMTP refused connections for", f"{up_at - down_at:.1f} s")

    async def drained() -> tuple[bool, str]:
        expected = await expected_emails(stack.client, stack.store, ids)
        received = stack.smtp.per_message_id(ids)
        owed = len(expected - set(received))
        short = [t for t in ids for name in MUST_ARRIVE if stack.smtp.count(name, t) == 0]
        pending = pending_activities(await describe_all(stack.client, ids))
        status = (
            f"{len(received)} of {len(expected)} emails, {len(short)} required missing, "
            f"{pending} activities pending"
        )
        return owed == 0 and not short and pending == 0, status

    try:
        took = await eventually(
            "every email after SMTP returned", drained, limit=DRAIN_TIMEOUT_SECONDS, interval=1.0
        )
        report.figure("all emails in after SMTP returned", f"{took:.1f} s")
    except FaultError as err:
        report.error(str(err))
    return up_at


async def _figures(
    stack: FaultStack, report: Report, due: dict[str, float], seen: dict[str, float], up_at: float
) -> None:
    ids = set(due)
    applied = {
        t: breach_applied_at(events) for t, events in (await histories(stack.client, ids)).items()
    }
    history_late = [at - due[t] for t, at in applied.items() if at is not None]
    store_late = [at - due[t] for t, at in seen.items()]
    applied_while_down = sum(1 for at in applied.values() if at is not None and at < up_at)
    report.figure(
        "breach lateness, history (SlaBreached=true upserted - due)", spread(history_late)
    )
    report.figure(
        "breaches applied while SMTP down (history)", f"{applied_while_down} of {len(ids)}"
    )
    report.figure(
        f"breach lateness, store (row seen - due, polled every {STORE_POLL_SECONDS} s)",
        spread(store_late),
    )
    while_down = sum(1 for at in seen.values() if at < up_at)
    report.figure("sla_breached rows in the store while SMTP down", f"{while_down} of {len(ids)}")

    expected = await expected_emails(stack.client, stack.store, ids)
    received = stack.smtp.per_message_id(ids)
    duplicates = stack.smtp.duplicates(ids)
    missing = expected - set(received)
    short = [
        (t, name) for t in sorted(ids) for name in MUST_ARRIVE if stack.smtp.count(name, t) == 0
    ]
    templates = Counter(m.template for m in stack.smtp.received if m.ticket_id in ids)
    early = [m for m in stack.smtp.received if m.ticket_id in ids and m.at < up_at]
    report.figure("emails expected / received", f"{len(expected)} / {sum(received.values())}")
    report.figure("emails by template", ", ".join(f"{k} {v}" for k, v in sorted(templates.items())))
    report.figure("duplicate emails", duplicates)
    report.figure(
        "missing emails", f"{len(missing)}" + (f" (e.g. {sorted(missing)[0]})" if missing else "")
    )
    report.figure("required emails never received (ack, apology)", len(short))

    report.check(
        len(history_late) == len(ids) and max(history_late, default=0) <= LATENESS_LIMIT_SECONDS,
        f"every breach applied within {LATENESS_LIMIT_SECONDS:.0f} s of due (history)",
    )
    report.check(
        len(store_late) == len(ids)
        and max(store_late, default=0) <= LATENESS_LIMIT_SECONDS + STORE_POLL_SECONDS,
        f"every breach in the store within {LATENESS_LIMIT_SECONDS:.0f} s of due",
    )
    report.check(while_down == len(ids), "every sla_breached event in the store while SMTP is down")
    report.check(not early, "no email accepted while SMTP was down (the outage was real)")
    report.check(duplicates == 0, "no email arrives twice")
    report.check(not missing and not short, "every email arrives after SMTP returns")
