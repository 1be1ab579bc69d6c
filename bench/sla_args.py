"""The SLA benchmark's command-line arguments and the sizes of a run (`bench.sla`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

QUICK = {"open_tickets": 200, "breaching": 10, "window": 20.0, "lead": 45.0}


def _at_least(minimum: float, kind: type[int] | type[float]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        value = kind(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum:g}")
        return value

    return parse


def add_sla_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("sla (--only sla)")
    group.add_argument(
        "--open-tickets",
        type=_at_least(1, int),
        default=10_000,
        help="open tickets in all, breaching ones included (default 10000)",
    )
    group.add_argument(
        "--breaching",
        type=_at_least(1, int),
        default=None,
        help="of them, how many breach (default: 1 in 20, at most 500)",
    )
    group.add_argument(
        "--window",
        type=_at_least(1, float),
        default=60.0,
        help="seconds over which their first-response due times are spread",
    )
    group.add_argument(
        "--lead",
        type=_at_least(20, float),
        default=120.0,
        help="seconds from starting the breaching tickets to the window",
    )
    group.add_argument(
        "--start-concurrency",
        type=_at_least(1, int),
        default=64,
        help="workflow starts in flight (default 64)",
    )
    group.add_argument(
        "--idle-start",
        choices=("settled", "intake"),
        default="settled",
        help="idle tickets start settled (intake long done: no acknowledgment; default) or "
        "as new tickets, each with its whole intake",
    )


@dataclass(frozen=True)
class SlaParams:
    open_tickets: int
    breaching: int
    window: float
    lead: float
    start_concurrency: int
    idle_start: str = "settled"

    @property
    def idle(self) -> int:
        return self.open_tickets - self.breaching


def sla_params(args: argparse.Namespace) -> SlaParams:
    """The run's sizes: `--quick` replaces them by a tiny run; breaching <= open tickets."""
    sizes = {k: getattr(args, k) for k in ("open_tickets", "breaching", "window", "lead")}
    if args.quick:
        sizes = dict(QUICK)
    open_tickets = sizes["open_tickets"]
    breaching = sizes["breaching"] or max(1, min(500, open_tickets // 20))
    return SlaParams(
        open_tickets=open_tickets,
        breaching=min(breaching, open_tickets),
        window=sizes["window"],
        lead=sizes["lead"],
        start_concurrency=args.start_concurrency,
        idle_start=args.idle_start,
    )
