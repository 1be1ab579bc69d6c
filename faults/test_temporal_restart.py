"""The Temporal dev server is SIGKILLed with SLA timers running and restarted on the same
database file and port.

Promised (issue 9): every timer that was running fires, late only by the downtime,
and nothing is lost (every ticket still runs, is stored, is acknowledged once, and
breaches). The worker and the API are left running through the outage: they must
reconnect on their own.

Timeline: 20 P1 tickets (first response 60 s, at risk at 48 s) are created 0.5 s
apart; the server is killed 20 s before the first due time, so every at-risk timer is
running; it is restarted 20 s later, so about half the breaches fall due while it is
down (they fire on restart) and the rest after it is back (they fire on time).
"""

from __future__ import annotations

import asyncio
import time

from faults.api import Api, first_response_due
from faults.conftest import MakeStack
from faults.history import Timer, breach_applied_at, timers
from faults.observe import describe_all, histories, not_running
from faults.report import Report
from faults.stack import FaultStack
from faults.store import StoreDown
from faults.support import FaultError, eventually, say, sleep_until, spread

CASE = "temporal"
TICKETS = 20
FIRST_RESPONSE_SECONDS = 60
CREATE_GAP_SECONDS = 0.5
KILL_BEFORE_FIRST_DUE_SECONDS = 15.0
DOWN_SECONDS = 20.0
CATCH_UP_LIMIT_SECONDS = 15.0
"""A timer that expired while the server was down fires within this long of its return."""
CONVERGE_TIMEOUT_SECONDS = 180.0


async def test_temporal_sigkill_and_restart_fires_every_running_timer(stacks: MakeStack) -> None:
    report = Report(f"Temporal dev server SIGKILL, {DOWN_SECONDS:.0f} s down, restart")
    try:
        await _run(await stacks(first_response_seconds=FIRST_RESPONSE_SECONDS), report)
    except FaultError as err:
        report.error(str(err))
    except BaseException:
        report.print()
        raise
    report.conclude()


async def _create(stack: FaultStack) -> dict[str, float]:
    due: dict[str, float] = {}
    async with Api(stack.api_url) as api:
        for index in range(TICKETS):
            answer = await api.create(CASE, index, "P1")
            if answer.status_code != 201:
                raise FaultError(f"create #{index}: {answer.status_code} {answer.text[:200]}")
            due[answer.json()["id"]] = first_response_due(answer.json())
            await asyncio.sleep(CREATE_GAP_SECONDS)
    return due


async def _run(stack: FaultStack, report: Report) -> None:
    due = await _create(stack)
    ids = set(due)

    async def timers_set() -> tuple[bool, str]:
        found = await histories(stack.client, ids)
        now = time.time() + 1  # a timer started by now
        armed = sum(any(t.running_at(now) for t in timers(found[i])) for i in ids)
        return armed == len(ids), f"{armed} of {len(ids)} tickets hold a timer"

    await eventually("every ticket holding a timer", timers_set, limit=60.0)
    kill_at = min(due.values()) - KILL_BEFORE_FIRST_DUE_SECONDS
    if time.time() > kill_at:
        raise FaultError("the tickets took too long to start: the first at-risk point has passed")
    await sleep_until(kill_at)
    assert stack.temporal is not None
    stack.kill(stack.temporal)
    killed_at = time.time()
    say(f"Temporal dev server SIGKILLed; restarting in {DOWN_SECONDS:.0f} s")
    await sleep_until(killed_at + DOWN_SECONDS)
    restarted_at = time.time()
    ready_at = await stack.start_temporal()
    say(f"Temporal back (same file and port), ready {ready_at - killed_at:.1f} s after the kill")
    report.figure(
        "server down",
        f"{restarted_at - killed_at:.1f} s, then ready (search attributes listed) "
        f"{ready_at - restarted_at:.1f} s after its restart",
    )

    async def breached() -> tuple[bool, str]:
        if dead := stack.check_alive():
            raise FaultError("; ".join(dead))
        try:
            rows = await stack.store.read(lambda: stack.store.events("sla_breached"))
        except StoreDown as err:
            return False, f"store: {err}"
        found = await histories(stack.client, ids)
        applied = sum(breach_applied_at(found[t]) is not None for t in ids)
        in_store = len(ids & {row.ticket_id for row in rows})
        return applied == in_store == len(ids), f"{applied} applied, {in_store} in the store"

    try:
        took = await eventually(
            "every breach applied after the restart",
            breached,
            limit=CONVERGE_TIMEOUT_SECONDS,
            interval=0.5,
        )
        report.figure("all breaches applied and stored", f"{took:.1f} s after the restart")
    except FaultError as err:
        report.error(str(err))
    await _figures(stack, report, due, killed_at, restarted_at)


async def _figures(
    stack: FaultStack, report: Report, due: dict[str, float], killed_at: float, back_at: float
) -> None:
    """Lateness after the restart counts from `back_at`, when the server was started again."""
    ids = set(due)
    found = await histories(stack.client, ids)
    running: list[Timer] = [t for i in ids for t in timers(found[i]) if t.running_at(killed_at)]
    fired = [t for t in running if t.fired_at is not None]
    canceled = [t for t in running if t.canceled_at is not None]
    overdue = [t.fired_at - back_at for t in fired if t.fired_at and t.expires_at <= back_at]
    on_time = [t.fired_at - t.expires_at for t in fired if t.fired_at and t.expires_at > back_at]
    report.figure("timers running at the kill / fired after", f"{len(running)} / {len(fired)}")
    report.figure(
        "  canceled / never fired", f"{len(canceled)} / {len(running) - len(fired) - len(canceled)}"
    )
    report.figure("expired while down: fired after the restart", spread(overdue))
    report.figure("expiring after the restart: fired late by", spread(on_time))

    applied = {i: breach_applied_at(found[i]) for i in ids}
    during = [a - back_at for i, a in applied.items() if a and due[i] <= back_at]
    after = [a - due[i] for i, a in applied.items() if a and due[i] > back_at]
    report.figure(
        "breaches applied", f"{sum(a is not None for a in applied.values())} of {len(ids)}"
    )
    report.figure("  due while down: applied after the restart", spread(during))
    report.figure("  due after the restart: applied late by", spread(after))

    stored = await stack.store.read(stack.store.ticket_seqs)
    gone = not_running(await describe_all(stack.client, ids))
    acks = [stack.smtp.count("acknowledgment", i) for i in ids]
    lost = {i for i in ids if i not in stored} | set(gone)
    report.figure("tickets lost (not running or not stored)", len(lost))
    report.figure(
        "acknowledgments",
        f"{sum(acks)} for {len(ids)} tickets, duplicates {stack.smtp.duplicates(ids)}",
    )

    report.check(len(running) >= len(ids), "every ticket had a running timer at the kill")
    report.check(len(fired) == len(running), "every running timer fired after the restart")
    report.check(
        max(overdue, default=0) <= CATCH_UP_LIMIT_SECONDS,
        f"timers expired while down fired within {CATCH_UP_LIMIT_SECONDS:.0f} s of the restart",
    )
    report.check(all(a is not None for a in applied.values()), "every breach applied")
    report.check(not lost, "nothing lost")
    report.check(all(n == 1 for n in acks) and stack.smtp.duplicates(ids) == 0, "every email once")
