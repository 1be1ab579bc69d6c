"""The SLA engine inside the workflow, on the time-skipping server: exact due times and breaches.

The issue's scenario: a P2 ticket created on a Friday at 17:59 on a business-hours
calendar (Mon-Fri 09:00-18:00 UTC) with the Monday a holiday.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from temporalio.testing import WorkflowEnvironment

from domain.enums import ClockState, Metric, Status
from domain.sla.terms import SlaTargets
from domain.ticket.actions import CustomerReply, RequestInfo
from domain.ticket.state import TicketStarted
from store.engine import create_engine, create_sessionmaker
from store.models import SlaEventRow
from tests.conftest import Mailbox, eventually
from tests.workflows.harness import request, running_worker, started
from workflows.ticket import TicketWorkflow, TicketWorkflowInput


def _next_friday_1759(now: datetime) -> datetime:
    days = (4 - now.weekday()) % 7 or 7
    return (now + timedelta(days=days)).replace(hour=17, minute=59, second=0, microsecond=0)


def _with_holiday(start: TicketStarted, holiday: date) -> TicketStarted:
    calendar = start.sla.calendar.model_copy(update={"holiday_dates": [holiday]})
    return start.model_copy(update={"sla": start.sla.model_copy(update={"calendar": calendar})})


async def _sleep_until(env: WorkflowEnvironment, at: datetime) -> None:
    now = await env.get_current_time()
    if at > now:
        await env.sleep(at - now)


async def test_p2_friday_1759_with_monday_holiday(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    _, port = smtp
    env = time_env
    friday = _next_friday_1759(await env.get_current_time())
    monday = friday.date() + timedelta(days=3)
    tuesday = datetime.combine(friday.date() + timedelta(days=4), datetime.min.time(), UTC)
    wednesday, thursday = tuesday + timedelta(days=1), tuesday + timedelta(days=2)
    next_friday = tuesday + timedelta(days=3)
    ticket_id = f"TKT-{uuid.uuid4().hex[:8]}"

    await _sleep_until(env, friday)
    start = _with_holiday(started(ticket_id, friday, request(priority="P2")), monday)
    assert start.sla.calendar.id == "business-hours"
    async with running_worker(env.client, task_queue, database_url, port):
        handle = await env.client.start_workflow(
            TicketWorkflow.run,
            TicketWorkflowInput(started=start),
            id=ticket_id,
            task_queue=task_queue,
        )
        state = await handle.query(TicketWorkflow.state)
        # 1 minute on Friday, nothing on the weekend or the Monday holiday, then Tuesday.
        assert state.clocks[Metric.FIRST_RESPONSE].due_at == tuesday.replace(hour=10, minute=59)
        # 24 business hours: 1 min Fri + 9 h Tue + 9 h Wed + 5 h 59 min Thu.
        assert state.clocks[Metric.RESOLUTION].due_at == thursday.replace(hour=14, minute=59)

        # Tuesday 10:00 the agent asks the customer: first response met, clocks pause.
        await _sleep_until(env, tuesday.replace(hour=10))
        brief = await handle.execute_update(
            TicketWorkflow.request_info, RequestInfo(actor="alice", body="Which invoice?")
        )
        assert brief.status == Status.AWAITING_CUSTOMER
        assert brief.sla[Metric.FIRST_RESPONSE].state == ClockState.MET
        assert brief.sla[Metric.RESOLUTION].due_at is None  # paused

        # The customer answers Wednesday 10:00: 9 business hours were paused
        # (Tue 10-18, Wed 09-10), so resolution moves from Thu 14:59 to Fri 14:59.
        await _sleep_until(env, wednesday.replace(hour=10))
        brief = await handle.execute_update(
            TicketWorkflow.customer_reply, CustomerReply(body="INV-2211")
        )
        assert brief.status == Status.OPEN
        resolution_due = next_friday.replace(hour=14, minute=59)
        assert brief.sla[Metric.RESOLUTION].due_at == resolution_due

        # Nobody resolves it: the breach lands on its due second, not later.
        await _sleep_until(env, resolution_due + timedelta(minutes=5))
        state = await handle.query(TicketWorkflow.state)
        clock = state.clocks[Metric.RESOLUTION]
        assert clock.state == ClockState.BREACHED
        assert clock.breached_at == resolution_due

        async def recorded() -> bool:
            rows = await _sla(database_url, ticket_id)
            return any(r.event == "breached" and r.metric == "resolution" for r in rows)

        await eventually(recorded)
    rows = await _sla(database_url, ticket_id)
    # SQLite hands back naive UTC; the met instant carries the update's milliseconds.
    events = sorted((r.metric, r.event, r.at.replace(tzinfo=UTC, microsecond=0)) for r in rows)
    assert ("first_response", "met", tuesday.replace(hour=10)) in events
    breaches = [(m, at) for m, e, at in events if e == "breached"]
    assert ("resolution", resolution_due) in breaches
    at_risk = [(m, at) for m, e, at in events if e == "at_risk" and m == "resolution"]
    assert len(at_risk) == 1, "at risk exactly once per cycle"
    assert state.sla_breached


async def test_three_business_days_from_friday_evening_before_a_monday_holiday(
    time_env: WorkflowEnvironment, task_queue: str, database_url: str, smtp: tuple[Mailbox, int]
) -> None:
    """PlumberLeads-style "3 business days": created Friday 19:30 (closed), Monday a
    holiday, so day 0 is Tuesday and it is due at Thursday's close; a day of waiting on the
    customer moves it to Friday's close, where it breaches on the second."""
    _, port = smtp
    env = time_env
    friday = _next_friday_1759(await env.get_current_time()).replace(hour=19, minute=30)
    tuesday = datetime.combine(friday.date() + timedelta(days=4), datetime.min.time(), UTC)
    thursday, next_friday = tuesday + timedelta(days=2), tuesday + timedelta(days=3)
    ticket_id = f"TKT-{uuid.uuid4().hex[:8]}"

    await _sleep_until(env, friday)
    start = _with_holiday(
        started(ticket_id, friday, request(priority="P3")), friday.date() + timedelta(days=3)
    )
    targets = SlaTargets.model_validate({"first_response": "8h", "resolution": "3bd"})
    start = start.model_copy(update={"sla": start.sla.model_copy(update={"targets": targets})})
    assert start.sla.calendar.id == "business-hours"  # Mon-Fri 09:00-18:00 UTC
    async with running_worker(env.client, task_queue, database_url, port):
        handle = await env.client.start_workflow(
            TicketWorkflow.run,
            TicketWorkflowInput(started=start),
            id=ticket_id,
            task_queue=task_queue,
        )
        state = await handle.query(TicketWorkflow.state)
        clock = state.clocks[Metric.RESOLUTION]
        assert (clock.target_seconds, clock.due_at) == (27 * 3600, thursday.replace(hour=18))

        # Waiting on the customer from Tuesday 10:00 to Wednesday 10:00: 9 business hours.
        await _sleep_until(env, tuesday.replace(hour=10))
        await handle.execute_update(
            TicketWorkflow.request_info, RequestInfo(actor="alice", body="Which address?")
        )
        await _sleep_until(env, tuesday.replace(hour=10) + timedelta(days=1))
        brief = await handle.execute_update(
            TicketWorkflow.customer_reply, CustomerReply(body="12 Main St")
        )
        due = next_friday.replace(hour=18)
        assert brief.sla[Metric.RESOLUTION].due_at == due

        await _sleep_until(env, due + timedelta(minutes=5))
        clock = (await handle.query(TicketWorkflow.state)).clocks[Metric.RESOLUTION]
    assert (clock.state, clock.breached_at) == (ClockState.BREACHED, due)


async def _sla(database_url: str, ticket_id: str) -> list[SlaEventRow]:
    from sqlalchemy import select

    engine = create_engine(database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = await session.execute(
                select(SlaEventRow).where(SlaEventRow.ticket_id == ticket_id)
            )
            return list(rows.scalars())
    finally:
        await engine.dispose()
