"""What a case prints: its figures, then each promise it checked and whether it held.

A case fills a `Report` while it runs and prints it even when a step failed
midway, so a failing run still shows what was measured up to that point.
"""

from __future__ import annotations

import sys

import pytest


class Report:
    def __init__(self, title: str) -> None:
        self.title = title
        self.figures: list[tuple[str, str]] = []
        self.checks: list[tuple[bool, str]] = []
        self.errors: list[str] = []

    def figure(self, label: str, value: object) -> None:
        self.figures.append((label, str(value)))

    def check(self, held: bool, promise: str) -> bool:
        """Record whether `promise` held; the case fails at the end if any did not."""
        self.checks.append((held, promise))
        return held

    def error(self, message: str) -> None:
        """A step that could not finish (a timeout, a process that died)."""
        self.errors.append(message)

    @property
    def failures(self) -> list[str]:
        return [*self.errors, *(promise for held, promise in self.checks if not held)]

    def render(self) -> str:
        width = max((len(label) for label, _ in self.figures), default=0)
        lines = ["", f"== {self.title} ==", *(f"  {k:<{width}}  {v}" for k, v in self.figures)]
        lines += [f"  [{'ok' if held else 'FAIL'}] {promise}" for held, promise in self.checks]
        lines += [f"  [ERROR] {message}" for message in self.errors]
        verdict = "PASS" if not self.failures else f"FAIL ({len(self.failures)})"
        return "\n".join([*lines, f"  verdict: {verdict}", ""])

    def print(self) -> None:
        print(self.render(), file=sys.stdout, flush=True)

    def conclude(self) -> None:
        """Print the report, then fail the test if any promise did not hold."""
        self.print()
        if self.failures:
            pytest.fail(f"{self.title}: " + "; ".join(self.failures), pytrace=False)
