"""A local SMTP server that keeps every message it receives as an `.eml` file.

The embedded mail part of `make run`: the worker sends real SMTP to it, and a
developer opens the files in `.data/mail/` with any mail client.

Each message is saved as `<UTC timestamp>-<8 hex>.eml`, e.g.
`20260301T091502.123456Z-3f9c2a1b.eml` (names sort by arrival), holding the
raw bytes received after DATA, preceded by two headers that carry the SMTP
envelope, which the message itself does not contain (Bcc recipients appear
only there):

    X-Envelope-From: <the MAIL FROM address>
    X-Envelope-To: <every RCPT TO address, comma-separated>

A file appears complete or not at all: it is written under a dot-prefixed
temporary name in the same folder, then renamed.

Standalone: `python -m ticketflow.smtp_sink --port 1025 --dir .data/mail`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

logger = logging.getLogger(__name__)

ENVELOPE_FROM_HEADER = "X-Envelope-From"
ENVELOPE_TO_HEADER = "X-Envelope-To"


def message_filename(received_at: datetime) -> str:
    """`<UTC timestamp>-<short random id>.eml`; the id keeps same-microsecond arrivals apart."""
    return f"{received_at.astimezone(UTC):%Y%m%dT%H%M%S.%fZ}-{uuid.uuid4().hex[:8]}.eml"


def write_message(directory: Path, envelope_from: str, recipients: list[str], raw: bytes) -> Path:
    """Write one message atomically and return its final path."""
    newline = b"\r\n" if b"\r\n" in raw else b"\n"
    envelope_headers = (
        f"{ENVELOPE_FROM_HEADER}: {envelope_from}".encode() + newline,
        f"{ENVELOPE_TO_HEADER}: {', '.join(recipients)}".encode() + newline,
    )
    final = directory / message_filename(datetime.now(UTC))
    temporary = directory / f".{final.name}.tmp"
    with temporary.open("wb") as file:
        file.writelines(envelope_headers)
        file.write(raw)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, final)
    return final


class SinkHandler:
    """aiosmtpd handler: accepts every message and writes it to `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            path = await asyncio.to_thread(
                write_message,
                self.directory,
                envelope.mail_from or "",
                list(envelope.rcpt_tos),
                raw,
            )
        except OSError:
            logger.exception("could not save a message in %s", self.directory)
            return "451 Requested action aborted: local error in processing"
        logger.info("saved %s (to: %s)", path, ", ".join(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


class MailSink:
    """An SMTP server on `host:port`, running in a background thread, saving into `directory`."""

    def __init__(self, directory: Path, host: str = "127.0.0.1", port: int = 1025) -> None:
        self.directory = directory
        self.host = host
        self.port = port
        self._controller = Controller(
            SinkHandler(directory),
            hostname=host,
            port=port,
            server_hostname="ticketflow-smtp-sink",
        )

    def start(self) -> None:
        """Create the folder and listen; returns once the server accepts connections."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> MailSink:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ticketflow.smtp_sink",
        description="Accept SMTP and keep every message as an .eml file.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", type=Path, default=Path(".data/mail"), dest="directory")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="smtp-sink: %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command
    # `ticketflow dev` runs the sink in a background process group; if the
    # terminal has `tostop` set, writing to it must not stop this process.
    signal.signal(signal.SIGTTOU, signal.SIG_IGN)

    # Block the stop signals (the server thread inherits the mask) and wait for
    # one synchronously: no handler races, and a signal that arrives while
    # starting is kept pending rather than lost.
    stop_signals = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    sink = MailSink(args.directory, host=args.host, port=args.port)
    try:
        sink.start()
    except Exception as exc:  # aiosmtpd re-raises the server thread's error as is
        print(f"smtp-sink: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    logger.info("listening on %s:%d, saving to %s", args.host, args.port, args.directory)
    try:
        signal.sigwait(stop_signals)
    finally:
        sink.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
