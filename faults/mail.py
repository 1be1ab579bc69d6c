"""A real SMTP server in this process whose outage is real: stopped, its port refuses.

`stop()` closes the listener (clients get "connection refused"); `start()` listens
again on the same port. Every accepted message is kept with its Message-ID and the
ticket it is about (`X-Ticket-ID`), so a case can count duplicates and gaps.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from email import policy
from email.parser import BytesHeaderParser

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from faults.support import FaultError
from runtime.processes import accepts_connections

_HEADERS = BytesHeaderParser(policy=policy.default)


def template_of(message_id: str) -> str:
    """The template a ticketflow Message-ID names: `<TKT-1.3.sla_breach_apology@d>` ->
    `sla_breach_apology` (see domain.ticket.notifications.message_id)."""
    parts = message_id.strip().strip("<>").split(".", 2)
    if len(parts) < 3:
        return "?"
    return parts[2].split(".")[0].split("@")[0]


def canonical_message_id(message_id: str) -> str:
    """A Message-ID as it reads on the wire: the email package rewrites ids that are not
    RFC 5322 (e.g. two `@`), so the ids the workflow asks for are compared in this form."""
    return str(policy.default.header_factory("Message-ID", message_id)).strip()


@dataclass(frozen=True)
class Received:
    message_id: str
    ticket_id: str
    template: str
    at: float
    """`time.time()` when the server accepted it."""


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        headers = _HEADERS.parsebytes(raw)
        message_id = canonical_message_id(str(headers.get("Message-ID", "")))
        self.sink.accept(
            Received(
                message_id=message_id,
                ticket_id=str(headers.get("X-Ticket-ID", "")).strip(),
                template=template_of(message_id),
                at=time.time(),
            )
        )
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self, port: int) -> None:
        self.port = port
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._controller: Controller | None = None

    def accept(self, message: Received) -> None:
        with self._lock:
            self._received.append(message)

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        if self._controller is not None:
            return
        controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        controller.start()  # returns once the server answered its own test connection
        self._controller = controller

    def stop(self) -> None:
        """Close the listener; then a connection attempt must be refused."""
        if self._controller is None:
            return
        self._controller.stop()
        self._controller = None
        if accepts_connections("127.0.0.1", self.port):
            raise FaultError(f"SMTP port {self.port} still accepts connections after stop")

    # -- counting ------------------------------------------------------------------------

    def per_message_id(self, ticket_ids: Iterable[str] | None = None) -> Counter[str]:
        wanted = set(ticket_ids) if ticket_ids is not None else None
        return Counter(
            m.message_id for m in self.received if wanted is None or m.ticket_id in wanted
        )

    def duplicates(self, ticket_ids: Iterable[str] | None = None) -> int:
        """Messages beyond the first per Message-ID."""
        return sum(count - 1 for count in self.per_message_id(ticket_ids).values())

    def count(self, template: str, ticket_id: str) -> int:
        return sum(1 for m in self.received if m.template == template and m.ticket_id == ticket_id)
