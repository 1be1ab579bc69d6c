"""When each breach's first alert reached the SMTP sink (`bench.probe.MailBox`).

A breach raises the ticket one level and emails that level's recipients an
`escalation_alert`, Subject `[ESCALATION: <level name>] [<ticket id>] <subject>`; the alert
of an at-risk point, sent before the due second, has the same prefix with a level name
ending in `at <N>%`. The breach alert is the first message about the ticket, received at or
after its due second, with the prefix and without that ending.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

from bench.sla_history import BreachTiming

ALERT_PREFIX = "[ESCALATION:"
_AT_RISK = re.compile(r"^\[ESCALATION: [^\]]* at \d+%\]")


def is_breach_alert(subject: str) -> bool:
    return subject.startswith(ALERT_PREFIX) and _AT_RISK.match(subject) is None


def first_alert(messages: Sequence[tuple[float, str]], due_at: float) -> float | None:
    """When the first breach alert among `messages` ((received, Subject), in arrival order)
    arrived at or after `due_at`; None if none did."""
    for received, subject in messages:
        if received >= due_at and is_breach_alert(subject):
            return received
    return None


def with_alerts(
    timings: Sequence[BreachTiming], messages: Mapping[str, Sequence[tuple[float, str]]]
) -> list[BreachTiming]:
    return [
        replace(t, alerted=first_alert(messages.get(t.ticket_id, ()), t.due_at)) for t in timings
    ]
