"""Bare Temporal, the yardstick: the least a start and an Update can cost on this server.

Run by a worker inside the bench process, on its own task queue, against the
same dev server as the ticket workflows.
"""

from __future__ import annotations

from temporalio import workflow


@workflow.defn
class NoopWorkflow:
    """Starts and completes: what `client.start_workflow` costs with nothing on top."""

    @workflow.run
    async def run(self) -> None:
        return None


@workflow.defn
class CounterWorkflow:
    """Keeps a list; one Update appends to it. Waits until `finish` is signalled."""

    def __init__(self) -> None:
        self._items: list[str] = []
        self._finished = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self._finished)
        return len(self._items)

    @workflow.update
    def append(self, item: str) -> int:
        self._items.append(item)
        return len(self._items)

    @workflow.signal
    def finish(self) -> None:
        self._finished = True
