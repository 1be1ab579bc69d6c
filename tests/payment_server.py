"""A real payment system for the approval tests: `http.server` on a free port, in a thread.

It records every call (method, path, Idempotency-Key), answers the scripted statuses first
(a failure it does not process), processes each idempotency key once (a repeat gets the
first answer back), answers `GET /payments/<key>`, and can hold an accepted payment's
answer until the test releases it (to kill a worker between the call and its completion).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ticketflow.environment import free_port


@dataclass
class Call:
    method: str
    path: str
    key: str | None
    body: dict[str, Any] | None


@dataclass
class PaymentServer:
    port: int = 0
    calls: list[Call] = field(default_factory=list)
    processed: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Idempotency key -> the payment made for it: what moved money."""
    fail_first: list[int] = field(default_factory=list)
    """Statuses to answer the first POSTs with, unprocessed."""
    settle_at_once: bool = False
    hold: bool = False
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/payments"

    def posts(self) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == "POST"]


def _handler(server: PaymentServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: dict[str, Any] | None) -> None:
            data = json.dumps(body or {}).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the caller is gone (killed mid-call)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            key = self.headers.get("Idempotency-Key")
            with server.lock:
                server.calls.append(Call("POST", self.path, key, json.loads(raw)))
                if server.fail_first:
                    status = server.fail_first.pop(0)
                    answer: dict[str, Any] | None = None
                elif key in server.processed:
                    status, answer = 200, server.processed[key]
                else:
                    status = 201
                    answer = {
                        "reference": f"pay-{len(server.processed) + 1}",
                        "status": "settled" if server.settle_at_once else "accepted",
                    }
                    server.processed[str(key)] = answer
                hold = server.hold and status == 201
            if hold:
                server.held.set()
                server.release.wait(60)
            self._send(status, answer)

        def do_GET(self) -> None:
            key = self.path.rsplit("/", 1)[-1]
            with server.lock:
                server.calls.append(Call("GET", self.path, None, None))
                found = server.processed.get(key)
            self._send(200 if found else 404, found)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def payment_server() -> Iterator[PaymentServer]:
    server = PaymentServer(port=free_port())
    httpd = ThreadingHTTPServer(("127.0.0.1", server.port), _handler(server))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        httpd.shutdown()
        httpd.server_close()
