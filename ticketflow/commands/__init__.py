"""Operator commands of `ticketflow`: `config check`, `sla explain`, `tickets list|show`.

Each module here has the `register(subparsers)` that `ticketflow.cli` expects. Handlers write
their result to stdout and any error as one line on stderr (`ticketflow: ...`, never a
traceback), and return the exit code: 0 done, 1 the check failed or the ticket, store or
Temporal could not be read, 2 a bad argument.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import NoReturn

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_FAILED) -> int:
    """Report `message` as the command's one-line error and return `code`."""
    print(f"ticketflow: {message}", file=sys.stderr)
    return code


def first_line(error: BaseException) -> str:
    """The first line of an exception's message: enough for a one-line error."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def exit_process(code: int) -> NoReturn:
    """End the process now with `code`, output flushed, skipping interpreter shutdown.

    For commands that used a Temporal client: the SDK's native threads can abort a normal
    shutdown ("Fatal Python error: PyGILState_Release", exit status 134; temporalio/sdk-python
    issue 300), which would turn a clean answer into a crash. Never call it in-process from a
    test: use the command's async function instead.
    """
    for stream in (sys.stdout, sys.stderr):
        # The reader may be gone (`| head`) or the stream closed: exit all the same.
        with contextlib.suppress(BrokenPipeError, ValueError):
            stream.flush()
    os._exit(code)
