"""`ticketflow tickets list|show`: the desk's tickets for an operator at a terminal.

`list` reads the store (`DATABASE_URL`, else the embedded SQLite file), like `GET /v1/tickets`.
`show` asks the ticket's workflow for its state through Temporal (`TEMPORAL_ADDRESS`), so its
SLA clocks are live even when the store lags, and adds the last events from the store.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from runtime.settings import get_settings
from ticketflow.commands import EXIT_OK, exit_process, fail, first_line

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession
    from temporalio.client import Client
    from temporalio.service import RPCError

    from domain.ticket.state import TicketState
    from store.models import TicketEventRow
    from ticketflow.cli import Subparsers

T = TypeVar("T")
STATUSES = ("new", "open", "awaiting_customer", "on_hold", "resolved", "closed")
# A query needs a worker to replay the workflow: without one it would hang until the RPC
# deadline, so it gets a short one of its own and a hint.
QUERY_TIMEOUT = timedelta(seconds=10)


class StoreError(Exception):
    """The store could not be read; the message is one line for the operator."""


def register(subparsers: Subparsers) -> None:
    tickets = subparsers.add_parser(
        "tickets", help="list tickets or show one", description="Tickets, for operators."
    )
    commands = tickets.add_subparsers(title="commands", metavar="COMMAND", required=True)
    summary = "list tickets from the store, newest first"
    listing = commands.add_parser("list", help=summary, description=summary)
    listing.add_argument("--status", action="append", choices=STATUSES, help="repeatable")
    listing.add_argument(
        "--priority", action="append", help="a priority id of the policy; repeatable"
    )
    listing.add_argument("--team")
    listing.add_argument("--assignee", help="an agent id")
    listing.add_argument(
        "--breached",
        action=argparse.BooleanOptionalAction,
        help="only tickets with (--breached) or without (--no-breached) an SLA breach",
    )
    listing.add_argument("--limit", type=count, default=50, help="default: 50")
    listing.add_argument("--json", action="store_true", help="a JSON array instead of a table")
    listing.set_defaults(handler=_list)

    summary = "a ticket from its workflow, with live SLA clocks and its last events"
    show = commands.add_parser("show", help=summary, description=summary)
    show.add_argument("ticket_id", metavar="TICKET_ID", help="e.g. TKT-000001")
    show.add_argument("--events", type=count, default=10, help="last N events (default: 10)")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(handler=_show)


def count(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


# -- the store -----------------------------------------------------------------------------------


async def read_store(database_url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one read-only session; any failure becomes a one-line StoreError."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from store.engine import create_engine, create_sessionmaker

    url = make_url(database_url)
    shown = url.render_as_string(hide_password=True)
    _check_sqlite_file(url.get_backend_name(), url.database)
    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            return await work(session)
    except SQLAlchemyError as error:
        cause = getattr(error, "orig", None) or error
        raise StoreError(f"cannot read the store at {shown}: {first_line(cause)}") from None
    except OSError as error:
        raise StoreError(f"cannot reach the store at {shown}: {first_line(error)}") from None
    finally:
        await engine.dispose()


def _check_sqlite_file(backend: str, database: str | None) -> None:
    """Connecting to a missing SQLite file would create an empty one: say what to do instead."""
    if backend == "sqlite" and database and database != ":memory:" and not Path(database).exists():
        raise StoreError(f"no store at {database} (run `ticketflow migrate` or set DATABASE_URL)")


def _list(args: argparse.Namespace) -> int:
    from store.repository import TicketFilter

    where = TicketFilter(
        status=args.status,
        priority=args.priority,
        team=args.team,
        assignee=args.assignee,
        breached=args.breached,
    )
    database_url = get_settings().effective_database_url
    try:
        lines = asyncio.run(list_tickets(database_url, where, limit=args.limit, as_json=args.json))
    except StoreError as error:
        return fail(str(error))
    print("\n".join(lines))
    return EXIT_OK


async def list_tickets(database_url: str, where: Any, *, limit: int, as_json: bool) -> list[str]:
    """The `tickets list` output lines; `where` is a `store.repository.TicketFilter`."""
    from store import repository
    from ticketflow.commands.ticket_text import ticket_json, ticket_rows

    async def work(session: AsyncSession) -> tuple[list[Any], str | None]:
        return await repository.list_tickets(session, where=where, limit=limit)

    tickets, more = await read_store(database_url, work)
    if as_json:
        return [json.dumps([ticket_json(t) for t in tickets], indent=2)]
    if not tickets:
        return ["no tickets match"]
    lines = ticket_rows(tickets)
    if more:
        lines.append(f"(showing the newest {limit}; more match: raise --limit)")
    return lines


# -- one ticket ------------------------------------------------------------------------------------


def _show(args: argparse.Namespace) -> int:
    """Ends the process itself (see `exit_process`); tests call `show_ticket`."""
    settings = get_settings()

    async def run() -> int:
        from runtime.codec import settings_codec
        from runtime.temporal import connect

        address, namespace = settings.effective_temporal_address, settings.temporal_namespace
        try:
            client = await connect(address, namespace, codec=settings_codec(settings))
        except RuntimeError as error:  # what the SDK raises when the server can't be reached
            return fail(f"cannot reach Temporal at {address}: {_connect_reason(error)}")
        return await show_ticket(
            client,
            args.ticket_id,
            database_url=settings.effective_database_url,
            now=datetime.now(UTC),
            last_events=args.events,
            as_json=args.json,
        )

    exit_process(asyncio.run(run()))


def _connect_reason(error: RuntimeError) -> str:
    text = first_line(error)
    return "connection refused" if "ConnectionRefused" in text else text


async def show_ticket(
    client: Client,
    ticket_id: str,
    *,
    database_url: str,
    now: datetime,
    last_events: int = 10,
    as_json: bool = False,
) -> int:
    """Print the ticket as its workflow holds it, its clocks at `now`, and its last events.

    A ticket Temporal does not know is an error (exit 1). A store that cannot be read is only a
    warning: the state comes from Temporal, the events are left out (`"events": null`)."""
    from domain.ticket.views import ticket_view
    from ticketflow.commands import ticket_text

    try:
        state, run = await _read_workflow(client, ticket_id)
    except TicketUnavailable as error:
        return fail(str(error))
    # A workflow that ended runs no timers: its clocks stopped when it closed.
    clocks_at = now if run.closed_at is None else min(now, run.closed_at)
    view = ticket_view(state, clocks_at)

    events: list[TicketEventRow] | None = None
    total = 0
    try:
        events, total = await _last_events(database_url, ticket_id, last_events)
    except StoreError as error:
        fail(f"warning: events left out: {error}")

    if as_json:
        document = {
            "ticket": view.model_dump(mode="json"),
            "workflow": {
                "status": run.status,
                "run_id": run.run_id,
                "closed_at": run.closed_at.isoformat() if run.closed_at else None,
            },
            "as_of": clocks_at.isoformat(),
            "events": None if events is None else [ticket_text.event_json(e) for e in events],
            "events_total": None if events is None else total,
        }
        print(json.dumps(document, indent=2))
        return EXIT_OK
    lines = ticket_text.ticket_details(view, clocks_at, run)
    if events is not None:
        lines += ["", f"last {len(events)} of {total} events (from the store):"]
        lines += ticket_text.event_rows(events) if events else ["  none recorded yet"]
    print("\n".join(lines))
    return EXIT_OK


class TicketUnavailable(Exception):
    """The ticket's workflow could not be read; the message is one line for the operator."""


@dataclass(frozen=True)
class WorkflowRun:
    """The ticket workflow's current run as Temporal describes it."""

    status: str
    """`running`, or how it ended: `completed`, `terminated`, `failed`, ..."""
    run_id: str
    closed_at: datetime | None


async def _read_workflow(client: Client, ticket_id: str) -> tuple[TicketState, WorkflowRun]:
    from temporalio.client import WorkflowQueryFailedError
    from temporalio.service import RPCError, RPCStatusCode

    from workflows.ticket import TicketWorkflow

    handle = client.get_workflow_handle(ticket_id)
    try:
        description = await handle.describe(rpc_timeout=QUERY_TIMEOUT)
        state = await handle.query(TicketWorkflow.state, rpc_timeout=QUERY_TIMEOUT)
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            if _namespace_not_found(error):
                message = f"no namespace {client.namespace} on Temporal (TEMPORAL_NAMESPACE)"
                raise TicketUnavailable(message) from None
            raise TicketUnavailable(
                f"no such ticket {ticket_id} in namespace {client.namespace}"
            ) from None
        if error.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
            raise TicketUnavailable(
                f"ticket {ticket_id} did not answer within {QUERY_TIMEOUT.seconds}s:"
                " is a worker running on its task queue?"
            ) from None
        message = f"Temporal refused to read {ticket_id}: {first_line(error)}"
        raise TicketUnavailable(message) from None
    except WorkflowQueryFailedError as error:
        raise TicketUnavailable(
            f"ticket {ticket_id} failed to answer its state query: {first_line(error)}"
        ) from None
    status = description.status.name.lower() if description.status else "unknown"
    run = WorkflowRun(status=status, run_id=description.run_id, closed_at=description.close_time)
    return state, run


def _namespace_not_found(error: RPCError) -> bool:
    details = error.grpc_status.details
    return any(detail.type_url.endswith(".NamespaceNotFoundFailure") for detail in details)


async def _last_events(
    database_url: str, ticket_id: str, count: int
) -> tuple[list[TicketEventRow], int]:
    from store import repository

    async def work(session: AsyncSession) -> list[TicketEventRow]:
        return await repository.list_events(session, ticket_id=ticket_id)

    events = await read_store(database_url, work)
    return events[-count:], len(events)
