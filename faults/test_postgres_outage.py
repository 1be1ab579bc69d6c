"""PostgreSQL (a throwaway cluster of this test's own) is stopped for 20 s while tickets are
created and agents reply.

Promised (issue 9): while the store is down the API answers 503 in the error shape
`{"error": {"code", "message"}}`, never 500 and never a hang; once it is back, every
accepted ticket and every event of it is in the store.

Creations need the store (ticket numbers are allocated there); replies only need
Temporal, so they keep being accepted and their events must reach the store later.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from faults.api import Api, error_shape_ok
from faults.conftest import MakeStack
from faults.observe import for_each
from faults.postgres import ThrowawayCluster
from faults.report import Report
from faults.stack import FaultStack
from faults.store import StoreDown
from faults.support import FaultError, eventually, say, sleep_until

CASE = "postgres"
SEED_TICKETS = 10
LANES_PER_KIND = 2
PAUSE_SECONDS = 0.2  # per lane, between requests
WARM_SECONDS = 5.0
DOWN_SECONDS = 20.0
AFTER_SECONDS = 10.0
CONVERGE_TIMEOUT_SECONDS = 180.0
GAPS = ("tickets missing", "replies missing", "events missing")


@dataclass
class Answer:
    kind: str
    at: float
    status: int | None
    """None: no HTTP answer (timeout, connection error)."""
    shape_ok: bool = True
    code: str = ""
    ticket_id: str = ""


@dataclass
class Load:
    answers: list[Answer] = field(default_factory=list)
    accepted_tickets: list[str] = field(default_factory=list)
    accepted_replies: Counter[str] = field(default_factory=Counter)
    stop: asyncio.Event = field(default_factory=asyncio.Event)


async def test_postgres_outage_answers_503_and_loses_nothing(
    pg_cluster: ThrowawayCluster, stacks: MakeStack
) -> None:
    report = Report(f"PostgreSQL stopped for {DOWN_SECONDS:.0f} s during creations and replies")
    try:
        await _run(pg_cluster, await stacks(database_url=pg_cluster.url), report)
    except FaultError as err:
        report.error(str(err))
    except BaseException:
        report.print()
        raise
    report.conclude()


def _record(load: Load, kind: str, response: httpx.Response, ticket_id: str) -> Answer:
    answer = Answer(kind=kind, at=time.time(), status=response.status_code, ticket_id=ticket_id)
    if response.status_code >= 400:
        answer.shape_ok = error_shape_ok(response)
        if answer.shape_ok:
            answer.code = str(response.json()["error"]["code"])
    load.answers.append(answer)
    return answer


async def _creating(api: Api, load: Load, lane: int) -> None:
    index = 0
    while not load.stop.is_set():
        index += 1
        try:
            response = await api.create(CASE, lane * 100_000 + index, "P3")
        except httpx.HTTPError as err:
            load.answers.append(Answer("create", time.time(), None, code=type(err).__name__))
        else:
            if _record(load, "create", response, "").status == 201:
                load.accepted_tickets.append(response.json()["id"])
        await asyncio.sleep(PAUSE_SECONDS)


async def _replying(api: Api, load: Load, lane: int) -> None:
    turn = lane
    while not load.stop.is_set():
        ticket_id = load.accepted_tickets[turn % len(load.accepted_tickets)]
        turn += LANES_PER_KIND
        try:
            response = await api.reply(ticket_id, f"Looking into it (update {turn}).")
        except httpx.HTTPError as err:
            load.answers.append(Answer("reply", time.time(), None, code=type(err).__name__))
        else:
            if _record(load, "reply", response, ticket_id).status == 200:
                load.accepted_replies[ticket_id] += 1
        await asyncio.sleep(PAUSE_SECONDS)


async def _run(cluster: ThrowawayCluster, stack: FaultStack, report: Report) -> None:
    load = Load()
    async with Api(stack.api_url) as api:
        for index in range(SEED_TICKETS):
            response = await api.create(CASE, index, "P3")
            if response.status_code != 201:
                raise FaultError(f"seed ticket {index}: {response.status_code} {response.text}")
            load.accepted_tickets.append(response.json()["id"])
        say(f"load: {LANES_PER_KIND} lanes creating, {LANES_PER_KIND} replying")
        lanes = [
            *(asyncio.create_task(_creating(api, load, n)) for n in range(LANES_PER_KIND)),
            *(asyncio.create_task(_replying(api, load, n)) for n in range(LANES_PER_KIND)),
        ]
        try:
            await asyncio.sleep(WARM_SECONDS)
            await asyncio.to_thread(cluster.stop)
            down_at = time.time()
            say(f"PostgreSQL {cluster.name} stopped; starting it again in {DOWN_SECONDS:.0f} s")
            await sleep_until(down_at + DOWN_SECONDS)
            starting_at = time.time()
            await asyncio.to_thread(cluster.start)
            up_at = time.time()
            say(f"PostgreSQL back after {up_at - down_at:.1f} s")
            await asyncio.sleep(AFTER_SECONDS)
        finally:
            load.stop.set()
            await asyncio.gather(*lanes, return_exceptions=True)
    report.figure(
        "store down",
        f"{starting_at - down_at:.1f} s stopped, accepting connections again "
        f"{up_at - starting_at:.1f} s after the start",
    )
    _answer_figures(report, load, down_at, starting_at)

    async def converged() -> tuple[bool, str]:
        gaps = await _store_gaps(stack, load)
        return not any(gaps.values()), ", ".join(f"{k} {v}" for k, v in gaps.items())

    try:
        took = await eventually(
            "every accepted ticket and event in the store",
            converged,
            limit=CONVERGE_TIMEOUT_SECONDS,
            interval=1.0,
        )
        report.figure("store complete again", f"{took:.1f} s after the load stopped")
    except FaultError as err:
        report.error(str(err))
    gaps = await _store_gaps(stack, load)
    report.figure(
        "accepted tickets / stored", _pair(load.accepted_tickets, gaps["tickets missing"])
    )
    report.figure(
        "accepted replies / stored reply events",
        f"{sum(load.accepted_replies.values())} / "
        f"{sum(load.accepted_replies.values()) - gaps['replies missing']}",
    )
    report.figure("workflow events not in the store", gaps["events missing"])
    report.check(not any(gaps.values()), "every accepted ticket and event is in the store")


def _pair(accepted: list[str], missing: int) -> str:
    return f"{len(accepted)} / {len(accepted) - missing}"


def _answer_figures(report: Report, load: Load, down_at: float, starting_at: float) -> None:
    """Counts of answers by kind; "while stopped" is from the stop to the start command."""

    def is_other_5xx(a: Answer) -> bool:
        return a.status is not None and a.status >= 500 and a.status != 503

    for kind in ("create", "reply"):
        mine = [a for a in load.answers if a.kind == kind]
        ok = sum(1 for a in mine if a.status is not None and a.status < 300)
        unavailable = sum(1 for a in mine if a.status == 503)
        others = Counter(str(a.status or a.code) for a in mine)
        for key in [k for k in others if k.startswith("2") or k == "503"]:
            del others[key]
        during = [a for a in mine if down_at <= a.at <= starting_at]
        report.figure(
            f"{kind}: answers",
            f"{len(mine)}: 2xx {ok}, 503 {unavailable}, other 5xx "
            f"{sum(map(is_other_5xx, mine))}, other {dict(others) or 0}",
        )
        report.figure(
            f"{kind}: while the store was stopped",
            f"{len(during)}: 2xx {sum(1 for a in during if a.status and a.status < 300)}, "
            f"503 {sum(1 for a in during if a.status == 503)}",
        )
    codes = Counter(a.code for a in load.answers if a.status == 503)
    report.figure("503 error codes", dict(codes) or "none")
    bad_shape = [a for a in load.answers if not a.shape_ok]
    unanswered = [a for a in load.answers if a.status is None]
    report.check(not any(map(is_other_5xx, load.answers)), "no 5xx but 503 (never a 500)")
    report.check(not bad_shape, 'every error in the shape {"error": {"code", "message"}}')
    report.check(not unanswered, "every request answered (no timeout, no dropped connection)")
    created_while_down = [
        a for a in load.answers if a.kind == "create" and down_at <= a.at <= starting_at
    ]
    report.check(
        any(a.status == 503 for a in created_while_down),
        "creations while the store is down are refused with 503 (the outage was seen)",
    )


async def _store_gaps(stack: FaultStack, load: Load) -> dict[str, int]:
    """What the store lacks: tickets, reply events, and events the workflows have made."""
    try:
        seqs = await stack.store.read(stack.store.ticket_seqs)
        counts = await stack.store.read(stack.store.event_counts)
        rows = await stack.store.read(lambda: stack.store.events("agent_reply"))
    except StoreDown:
        return dict.fromkeys(GAPS, -1)  # unknown
    replies = Counter(row.ticket_id for row in rows)
    ids = list(load.accepted_tickets)
    states = await for_each(ids, lambda t: _last_seq(stack, t))
    return {
        "tickets missing": sum(1 for t in ids if t not in seqs),
        "replies missing": sum(max(0, n - replies[t]) for t, n in load.accepted_replies.items()),
        "events missing": sum(max(0, (states[t] or 0) - counts[t]) for t in ids),
    }


async def _last_seq(stack: FaultStack, ticket_id: str) -> int:
    state = await stack.client.get_workflow_handle(ticket_id).query("state")
    return int(state["last_seq"])
