"""A real HTTP receiver for webhook tests: `http.server` on a free port, in a thread.

It keeps every request (headers and body), answers with the scripted statuses first (then
200), and can hold requests until the test releases them (to kill a worker mid-request).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def envelope(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    port: int = 0
    requests: list[Received] = field(default_factory=list)
    """Every request that reached the handler, answered or not."""
    answers: list[int] = field(default_factory=list)
    """Statuses to answer first, in order (then 200)."""
    always: int | None = None
    """Answer this to everything (an outage), when set."""
    hold: bool = False
    """Hold each request until `release` is set (`held` is set when one arrives)."""
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def envelopes(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r.envelope for r in self.requests]

    def ids(self) -> list[str]:
        return [e["id"] for e in self.envelopes()]

    def _answer(self) -> int:
        with self.lock:
            if self.always is not None:
                return self.always
            return self.answers.pop(0) if self.answers else 200


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with receiver.lock:
                receiver.requests.append(Received(dict(self.headers.items()), body))
            if receiver.hold:
                receiver.held.set()
                receiver.release.wait(30)
            status = receiver._answer()
            try:
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:
                pass  # the sender is gone (killed mid-request)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()
