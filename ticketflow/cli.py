"""The `ticketflow` command.

The runtime commands (`dev`, `worker`, `api`, `migrate`) are registered here;
more come from the modules in `COMMAND_MODULES`. Each such module has a
`register(subparsers: Subparsers) -> None`, like the one below, that adds its
parsers and sets a `handler` default: a function `(argparse.Namespace) -> int`
returning the exit code. Handlers import their heavy dependencies themselves,
so `ticketflow --help` stays fast and one broken part breaks only its command.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

from pydantic import ValidationError

from domain.policy.support import PolicyError
from runtime.settings import Settings, get_settings

if TYPE_CHECKING:
    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

Handler = Callable[[argparse.Namespace], int]

# Modules adding commands: the operator commands `config check`, `sla explain`, `tickets ...`.
COMMAND_MODULES: tuple[str, ...] = (
    "ticketflow.commands.config",
    "ticketflow.commands.sla",
    "ticketflow.commands.tickets",
)


def register(subparsers: Subparsers) -> None:
    """The runtime commands: `dev`, `worker`, `api`, `migrate`."""
    commands: list[tuple[str, str, Handler]] = [
        ("dev", "run the whole stack locally (what `make run` does)", _dev),
        ("worker", "run the Temporal worker until SIGINT/SIGTERM", _worker),
        ("api", "serve the HTTP API on API_HOST:API_PORT", _api),
        ("migrate", "migrate the store (DATABASE_URL, else .data/tickets.db) to head", _migrate),
    ]
    for name, summary, handler in commands:
        parser = subparsers.add_parser(name, help=summary, description=summary)
        parser.set_defaults(handler=handler)
        if name == "worker":
            parser.add_argument(
                "--processes",
                type=_positive,
                metavar="N",
                help="run N worker processes, each with its own Temporal client, event loop "
                "and workflow cache (default: WORKER_PROCESSES, else 1)",
            )


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _dev(args: argparse.Namespace) -> int:
    from ticketflow import dev

    return dev.run(get_settings())


def _worker(args: argparse.Namespace) -> int:
    import worker

    settings = get_settings()
    processes = args.processes or settings.worker_processes
    if processes == 1:
        worker.main()
        return 0
    return worker.run_processes(processes, settings)


def _api(args: argparse.Namespace) -> int:
    import uvicorn

    settings = get_settings()
    uvicorn.run("api.app:create_app", factory=True, host=settings.api_host, port=settings.api_port)
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from sqlalchemy.engine import make_url

    from store.migrate import upgrade

    settings = get_settings()
    if not settings.database_url:  # the embedded SQLite file lives in the data dir
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.effective_database_url
    upgrade(url)
    print(f"migrated {make_url(url).render_as_string(hide_password=True)} to head")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ticketflow",
        description="Support-desk tickets as durable Temporal workflows.",
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    register(subparsers)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        code = handler(args)
        sys.stdout.flush()  # here, so a closed pipe is caught below, not at interpreter exit
        return code
    except ValidationError as exc:
        if exc.title != Settings.__name__:
            raise
        # A bad environment variable or .env entry: the message names it.
        print(f"ticketflow: invalid configuration: {exc}", file=sys.stderr)
        return 2
    except PolicyError as exc:
        print(f"ticketflow: invalid support policy file {exc.source}:", file=sys.stderr)
        for path, message in exc.problems:
            print(f"  {path or '(file)'}: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader of our output went away (`ticketflow tickets list | head`): stop quietly,
        # with stdout pointed at /dev/null so the interpreter's final flush fails no more.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
