"""The webhook dispatcher: drains the delivery outbox beside everything else the worker does.

It runs in every worker process (`worker.run`), apart from the ticket workflows: a ticket's
decisions never wait for a receiver, and a receiver never waits for a ticket. Several
dispatchers (N worker processes) share the outbox safely: each delivery is claimed in one
compare-and-set, and an event is due only once every earlier event of its ticket is
settled for that subscription, so events arrive in `seq` order per (ticket, subscription).
Each subscription has at most `per_subscription` requests in flight, each for a different
ticket: a slow or failing receiver holds back only itself, and within it only the tickets
whose events fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from activities.webhooks import WebhookConfig, WebhookSender
from store import webhook_outbox, webhooks
from store.engine import SessionMaker

log = logging.getLogger("ticketflow.webhooks")


class WebhookDispatcher:
    def __init__(self, sessions: SessionMaker, sender: WebhookSender, config: WebhookConfig):
        self._sessions = sessions
        self._sender = sender
        self._config = config
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._per_subscription: Counter[str] = Counter()
        self._wake = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set; then wait for the requests in flight (each has a deadline)."""
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                try:
                    await self.dispatch_due()
                except Exception as err:  # the store is down: try again at the next poll
                    log.warning("webhook dispatch: %s: %s", type(err).__name__, err)
                self._wake.clear()
                waking = asyncio.create_task(self._wake.wait())
                await asyncio.wait(
                    {stopping, waking},
                    timeout=self._config.poll,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                waking.cancel()
        finally:
            stopping.cancel()
            if self._in_flight:
                await asyncio.wait(set(self._in_flight.values()))

    async def dispatch_due(self) -> int:
        """Settle dead attempts' claims and start every due delivery there is room for."""
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            stale = await webhook_outbox.settle_stale(
                session, claimed_before=now - self._config.stale_after, at=now
            )
        if stale:
            log.warning("webhooks: %d attempt(s) stopped mid-request; marked unconfirmed", stale)
        room = self._config.per_subscription
        due: list[webhook_outbox.Due] = []
        async with self._sessions() as session:
            for subscription_id in await webhooks.active_ids(session):
                if self._per_subscription[subscription_id] < room:
                    due += await webhook_outbox.due(
                        session, subscription_id=subscription_id, now=now, limit=2 * room
                    )
        started = 0
        for item in due:
            if item.delivery_id in self._in_flight:
                continue
            if self._per_subscription[item.subscription_id] >= self._config.per_subscription:
                continue
            self._per_subscription[item.subscription_id] += 1
            task = asyncio.create_task(self._deliver(item))
            self._in_flight[item.delivery_id] = task
            started += 1
        return started

    async def _deliver(self, item: webhook_outbox.Due) -> None:
        try:
            await self._sender.deliver(item.delivery_id, item.subscription_id)
        except Exception:
            # Its claim (if taken) is settled as unconfirmed once stale; nothing is lost quietly.
            log.exception("webhook delivery %d failed unexpectedly", item.delivery_id)
        finally:
            self._in_flight.pop(item.delivery_id, None)
            self._per_subscription[item.subscription_id] -= 1
            self._wake.set()


@contextlib.asynccontextmanager
async def running(dispatcher: WebhookDispatcher) -> AsyncIterator[None]:
    """Run `dispatcher` for the body of the `async with`."""
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    try:
        yield
    finally:
        stop.set()
        await task
