"""The worker is SIGKILLed twice while 200 tickets are created over HTTP.

Promised (issue 9): no ticket is lost (each accepted ticket runs, is in the store and
is acknowledged) and no acknowledgment goes out twice. A killed worker is replaced at
once, as a supervisor would; the second kill hits the replacement while it works
through the backlog the first kill left.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from faults.api import Api
from faults.conftest import MakeStack
from faults.observe import describe_all, not_running, pending_activities
from faults.report import Report
from faults.stack import FaultStack
from faults.store import StoreDown
from faults.support import FaultError, eventually, say

CASE = "worker"
TICKETS = 200
LANES = 4
RATE_PER_SECOND = 10.0  # paced, so both kills land while creations are still coming in
KILL_AFTER = (TICKETS // 3, 2 * TICKETS // 3)
"""Kill when this many creations have been answered."""
CONVERGE_TIMEOUT_SECONDS = 240.0  # a killed activity is retried after its timeout (<= 60 s)


async def test_worker_sigkill_twice_loses_no_ticket_and_acknowledges_once(
    stacks: MakeStack,
) -> None:
    report = Report(f"worker SIGKILL x{len(KILL_AFTER)} during {TICKETS} creations over HTTP")
    try:
        await _run(await stacks(), report)
    except FaultError as err:
        report.error(str(err))
    except BaseException:
        report.print()
        raise
    report.conclude()


class Creations:
    def __init__(self) -> None:
        self.answered = 0
        self.accepted: list[str] = []
        self.statuses: Counter[int] = Counter()
        self.failures: list[str] = []
        self.finished_at = 0.0
        self.progress = asyncio.Condition()

    async def answered_one(self) -> None:
        async with self.progress:
            self.answered += 1
            self.progress.notify_all()

    async def wait_answered(self, count: int) -> None:
        async with self.progress:
            await self.progress.wait_for(lambda: self.answered >= count)


async def _create_all(stack: FaultStack, done: Creations) -> None:
    indexes = iter(range(TICKETS))
    pause = LANES / RATE_PER_SECOND

    async def lane(api: Api) -> None:
        for index in indexes:  # shared by the lanes: each index is taken once
            started = time.monotonic()
            try:
                answer = await api.create(CASE, index, "P3")
                done.statuses[answer.status_code] += 1
                if answer.status_code == 201:
                    done.accepted.append(answer.json()["id"])
                else:
                    done.failures.append(f"#{index}: {answer.status_code} {answer.text[:120]}")
            except Exception as err:
                done.failures.append(f"#{index}: {type(err).__name__}: {err}")
            await done.answered_one()
            await asyncio.sleep(max(0.0, pause - (time.monotonic() - started)))

    async with Api(stack.api_url) as api, asyncio.TaskGroup() as group:
        for _ in range(LANES):
            group.create_task(lane(api))
    done.finished_at = time.time()


async def _kill_twice(stack: FaultStack, done: Creations, report: Report) -> None:
    for number, threshold in enumerate(KILL_AFTER, 1):
        await done.wait_answered(threshold)
        victim = stack.worker
        assert victim is not None
        killed_at, answered = time.time(), done.answered
        stack.kill(victim)
        say(f"worker {victim.pid} SIGKILLed after {answered} creations; starting another")
        ready_at = await stack.start_worker()
        report.figure(
            f"kill {number}",
            f"after {answered} of {TICKETS} creations answered (pid {victim.pid}, "
            f"exit {victim.returncode}); replacement polling after {ready_at - killed_at:.1f} s",
        )


async def _run(stack: FaultStack, report: Report) -> None:
    done = Creations()
    say(f"creating {TICKETS} tickets, {LANES} lanes, ~{RATE_PER_SECOND:.0f}/s; killing the worker")
    started = time.time()
    await asyncio.gather(_create_all(stack, done), _kill_twice(stack, done, report))
    report.figure("creations", f"{done.answered} answered in {done.finished_at - started:.1f} s")
    report.figure("answers", ", ".join(f"{k}: {v}" for k, v in sorted(done.statuses.items())))
    ids = list(done.accepted)

    async def converged() -> tuple[bool, str]:
        if dead := stack.check_alive():
            raise FaultError("; ".join(dead))
        try:
            stored = await stack.store.read(stack.store.ticket_seqs)
        except StoreDown as err:
            return False, f"store: {err}"
        unstored = [t for t in ids if t not in stored]
        unacked = [t for t in ids if stack.smtp.count("acknowledgment", t) == 0]
        status = f"{len(ids) - len(unstored)} stored, {len(ids) - len(unacked)} acknowledged"
        if unstored or unacked:
            return False, status
        pending = pending_activities(await describe_all(stack.client, ids))
        return pending == 0, f"{status}, {pending} activities pending"

    try:
        took = await eventually(
            "every accepted ticket stored and acknowledged",
            converged,
            limit=CONVERGE_TIMEOUT_SECONDS,
            interval=1.0,
        )
        report.figure("all stored and acknowledged", f"{took:.1f} s after the last creation")
    except FaultError as err:
        report.error(str(err))
    await _figures(stack, report, done)


async def _figures(stack: FaultStack, report: Report, done: Creations) -> None:
    ids = done.accepted
    stored = await stack.store.read(stack.store.ticket_seqs)
    not_running_ids = not_running(await describe_all(stack.client, ids))
    acks = {t: stack.smtp.count("acknowledgment", t) for t in ids}
    lost = {t for t in ids if t not in stored or acks[t] == 0} | set(not_running_ids)
    duplicate_acks = sum(max(0, n - 1) for n in acks.values())
    report.figure("tickets accepted (201)", f"{len(ids)} of {TICKETS}")
    report.figure("tickets lost", f"{len(lost)}" + (f" (e.g. {sorted(lost)[:3]})" if lost else ""))
    report.figure(
        "  of which", f"workflow not running {len(not_running_ids)}, "
        f"not in store {sum(t not in stored for t in ids)}, "
        f"never acknowledged {sum(n == 0 for n in acks.values())}",
    )  # fmt: skip
    report.figure("duplicate acknowledgments", duplicate_acks)
    report.figure("duplicate emails of any kind", stack.smtp.duplicates(ids))
    if done.failures:
        report.figure("refused creations", "; ".join(done.failures[:3]))
    report.check(len(ids) == TICKETS, "every creation accepted (the API needs no worker)")
    report.check(not lost, "0 tickets lost")
    report.check(duplicate_acks == 0, "0 duplicate acknowledgments")
    report.check(stack.smtp.duplicates(ids) == 0, "0 duplicate emails")
