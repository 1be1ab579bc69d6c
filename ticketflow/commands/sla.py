"""`ticketflow sla explain`: which SLA policy a new ticket gets, why, and what it means.

It asks `SupportPolicy.select_sla` exactly as intake does, so the answer is the policy a ticket
created now with these attributes would snapshot. A ticket always has a category (routing falls
back to `routing.default_category`), so without `--category` the explanation uses that default.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from runtime.settings import get_settings
from ticketflow.commands import EXIT_FAILED, EXIT_OK, EXIT_USAGE, fail

if TYPE_CHECKING:
    from domain.policy.models import SlaPolicy
    from domain.policy.support import SupportPolicy
    from domain.sla.calendar import CalendarSpec, Weekday
    from domain.sla.terms import SlaSnapshot
    from ticketflow.cli import Subparsers

# Priorities, plans and channels are the policy file's (checked once it is loaded); these are
# the defaults, shown in `--help` without importing the domain.
DEFAULT_PRIORITIES = ("P1", "P2", "P3", "P4")


def register(subparsers: Subparsers) -> None:
    sla = subparsers.add_parser("sla", help="explain SLA policies", description="SLA policies.")
    commands = sla.add_subparsers(title="commands", metavar="COMMAND", required=True)
    summary = "which SLA policy a new ticket gets and why: targets, calendar, at-risk, pauses"
    explain = commands.add_parser("explain", help=summary, description=summary)
    explain.add_argument(
        "--priority", required=True, help="a priority id of the policy, after routing (e.g. P1)"
    )
    explain.add_argument("--plan", help="a plan id of the policy (default: its first plan)")
    explain.add_argument("--channel", default="email", help="a channel id (default: email)")
    explain.add_argument("--category", help="default: the policy's routing.default_category")
    explain.add_argument("--country", help="the requester's country (ISO 3166-1 alpha-2)")
    explain.add_argument("--timezone", help="the requester's time zone (IANA name)")
    explain.add_argument(
        "--config", type=Path, metavar="FILE", help="policy file (default: TICKETFLOW_CONFIG)"
    )
    explain.set_defaults(handler=_explain)


def _explain(args: argparse.Namespace) -> int:
    from domain.policy.support import PolicyError
    from runtime.policy_file import load_policy

    path: Path = args.config or get_settings().policy_file
    try:
        policy = load_policy(path)
    except PolicyError:
        return fail(f"invalid policy file {path} (run `ticketflow config check {path}`)")
    category: str = args.category or policy.routing.default_category
    if category not in policy.category_ids:
        known = ", ".join(policy.category_ids)
        return fail(f"unknown category {category!r} in {path} (known: {known})", EXIT_USAGE)
    vocabulary = policy.vocabulary
    plan: str = args.plan or vocabulary.plan_ids[0]
    for name, value, known_ids in (
        ("priority", args.priority, vocabulary.priority_ids),
        ("plan", plan, vocabulary.plan_ids),
        ("channel", args.channel, vocabulary.channel_ids),
    ):
        if value not in known_ids:
            known = ", ".join(known_ids)
            return fail(f"unknown {name} {value!r} in {path} (known: {known})", EXIT_USAGE)
    country = args.country.upper() if args.country else None
    try:
        text = explain(
            policy,
            priority=args.priority,
            plan=plan,
            channel=args.channel,
            category=category,
            category_given=args.category is not None,
            now=datetime.now(UTC),
            country=country,
            timezone=args.timezone,
        )
    except LookupError as error:
        return fail(str(error), EXIT_FAILED)
    print(text)
    return EXIT_OK


def explain(
    policy: SupportPolicy,
    *,
    priority: str,
    plan: str,
    channel: str,
    category: str,
    category_given: bool = True,
    now: datetime,
    country: str | None = None,
    timezone: str | None = None,
) -> str:
    """The explanation as text: one fact per line, durations in human units."""
    selection = policy.select_sla(
        priority=priority,
        plan=plan,
        category=category,
        channel=channel,
        created_year=now.year,
        requester_country=country,
        requester_timezone=timezone,
    )
    chosen = next(p for p in policy.sla_policies if p.id == selection.policy_id)
    given = {"priority": priority, "plan": plan, "category": category, "channel": channel}
    shown_category = category if category_given else f"{category} (routing default)"
    vocabulary = policy.vocabulary
    requester = "".join(
        f", {name} {value}"
        for name, value in (("country", country), ("time zone", timezone))
        if value
    )
    lines = [
        f"ticket:   priority {priority} ({vocabulary.priority_label(priority)}), "
        f"plan {plan} ({vocabulary.plan_label(plan)}), channel {channel}, "
        f"category {shown_category}{requester}",
        f"policy:   {chosen.id} (policy file version {policy.version})"
        + (f": {chosen.description}" if chosen.description else ""),
        f"why:      {selection.reason}; the first policy in file order that matches wins",
    ]
    for skipped in policy.sla_policies[: policy.sla_policies.index(chosen)]:
        lines.append(f"          skipped {skipped.id}: {_mismatch(skipped, given)}")
    lines.append("targets:  (business time on the calendar below, minus paused time)")
    for metric in ("first_response", "next_update", "resolution"):
        lines.append(f"          {metric.replace('_', ' '):<15} {_target(selection, metric)}")
    calendar_id = selection.calendar.id
    lines += _calendar_lines(
        policy.calendars[calendar_id].model_copy(update={"timezone": selection.calendar.timezone}),
        selection.calendar,
        now,
    )
    lines += [
        f"at risk:  {_at_risk(selection)}",
        f"pauses:   {_pauses(selection)}",
        "reopen:   "
        + (
            "a reopened ticket starts new clocks (a new cycle)"
            if selection.reopen == "new_cycle"
            else "a reopened ticket continues its clocks"
        ),
    ]
    return "\n".join(lines)


def _target(selection: SlaSnapshot, metric: str) -> str:
    from domain.sla.durations import BusinessDays, format_duration

    target = selection.targets.for_metric(metric)
    if target is None:
        return "none (no such clock)"
    if isinstance(target, BusinessDays):
        return (
            f"{target} ({target.days} business days: the same point of the business day "
            f"{target.days} open days later)"
        )
    return f"{format_duration(target)} ({target} s)"


def _mismatch(policy: SlaPolicy, given: dict[str, str]) -> str:
    for name, value in given.items():
        allowed: list[str] | None = getattr(policy.match, name)
        if allowed is not None and value not in allowed:
            return f"{name} {value} is not in [{', '.join(str(v) for v in allowed)}]"
    return "matches too"  # unreachable: the first match wins


def _calendar_lines(spec: CalendarSpec, resolved: CalendarSpec, now: datetime) -> list[str]:
    lines = [f"calendar: {spec.id}, time zone {spec.timezone}"]
    if spec.always_open:
        lines.append("          open 24x7")
    else:
        lines.append(f"          open {_weekly(spec)}")
    if spec.holiday_country is not None:
        region = spec.holiday_country + (
            f"-{spec.holiday_subdivision}" if spec.holiday_subdivision else ""
        )
        upcoming = [d for d in resolved.holiday_dates if d >= now.date()]
        shown = ", ".join(d.isoformat() for d in upcoming[:3])
        lines.append(
            f"          closed on {region} public holidays (next: {shown or 'none'}); "
            f"{len(resolved.holiday_dates)} dates {now.year}-{now.year + 2} are snapshotted"
        )
    elif spec.holiday_dates:
        lines.append(f"          closed on {len(spec.holiday_dates)} listed holiday dates")
    else:
        lines.append("          no public holidays")
    return lines


def _weekly(spec: CalendarSpec) -> str:
    """ "mon-fri 09:00-18:00": consecutive days with the same hours collapse into a range."""
    groups: list[tuple[list[Weekday], str]] = []
    for interval in spec.weekly:
        hours = f"{interval.start}-{interval.end}"
        if groups and groups[-1][1] == hours and _follows(groups[-1][0][-1], interval.day):
            groups[-1][0].append(interval.day)
        else:
            groups.append(([interval.day], hours))
    parts = [
        f"{days[0]}-{days[-1]} {hours}" if len(days) > 1 else f"{days[0]} {hours}"
        for days, hours in groups
    ]
    return ", ".join(parts) or "never (no weekly hours)"


def _follows(previous: Weekday, day: Weekday) -> bool:
    from domain.sla.calendar import WEEKDAYS

    return WEEKDAYS.index(day) == WEEKDAYS.index(previous) + 1


def _at_risk(selection: SlaSnapshot) -> str:
    from domain.sla.durations import format_duration

    if not selection.at_risk_percent:
        return "no at-risk warnings"
    percents = ", ".join(f"{p}%" for p in selection.at_risk_percent)
    first = selection.targets.first_response
    example = ""
    if isinstance(first, int):
        points = ", ".join(format_duration(first * p // 100) for p in selection.at_risk_percent)
        example = f" (first response: at {points})"
    return f"warned at {percents} of each target{example}"


def _pauses(selection: SlaSnapshot) -> str:
    if not any(selection.pauses.values()):
        return "never paused"
    parts = [
        f"{metric.value.replace('_', ' ')} while {' or '.join(s.value for s in statuses)}"
        for metric, statuses in selection.pauses.items()
        if statuses
    ]
    return "; ".join(parts)
