"""What every benchmark gets: the running stack, a Temporal client, the API, the ack watch."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.client import Client

from bench.load import Api
from bench.probe import AckWatch
from bench.stack import BenchStack
from bench.store_probe import StoreProbe

ACK_TIMEOUT_SECONDS = 900.0  # generous: a slow machine must fail loudly, not hang


@dataclass(frozen=True)
class Context:
    stack: BenchStack
    client: Client
    """With the pydantic data converter, as the API's client has."""
    api: Api
    ack: AckWatch
    task_queue: str
    """Of the bench's own worker process (`bench.yardstick`): bare workflows and anchors."""
    run_id: str
    """Makes workflow ids and requester addresses unique per run."""
    store: StoreProbe
    """The store, read from outside (SQLite or PostgreSQL)."""
