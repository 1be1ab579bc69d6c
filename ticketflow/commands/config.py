"""`ticketflow config check [FILE]`: validate a support policy file before deploying it.

Every problem is printed as `key.path: message`, one per line, and the exit code is 1; a valid
file gets a one-line summary and exit code 0.

`load_policy` checks the cross-references (unknown team, calendar, agent...) only once the file
is structurally valid, so a file with a bad duration *and* a dangling reference would need two
rounds of fixing. `reference_problems_despite` closes that gap on a best-effort basis: it drops
the optional keys that failed validation (their defaults take over) and validates again, so the
reference checks run; problems at or under a dropped key are not reported twice. When a
required key or a list item is broken it gives up and says that references were not checked.
"""

from __future__ import annotations

import argparse
import copy
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.settings import get_settings
from ticketflow.commands import EXIT_FAILED, EXIT_OK

if TYPE_CHECKING:
    from domain.policy.checks import Problem
    from domain.policy.support import SupportPolicy
    from ticketflow.cli import Subparsers

# Mappings whose keys are names the rest of the file refers to: dropping one of their entries
# would turn every reference to it into a false "unknown ..." problem.
_NAMED_ENTRIES = ("calendars", "teams", "agents")
_MAX_ROUNDS = 20


def register(subparsers: Subparsers) -> None:
    config = subparsers.add_parser(
        "config", help="check the support policy file", description="The support policy file."
    )
    commands = config.add_subparsers(title="commands", metavar="COMMAND", required=True)
    summary = "validate a policy file: every problem as `key.path: message`, exit 1 if any"
    check = commands.add_parser("check", help=summary, description=summary)
    check.add_argument(
        "file",
        nargs="?",
        type=Path,
        metavar="FILE",
        help="the policy file (default: TICKETFLOW_CONFIG, else config/policy.yaml)",
    )
    check.set_defaults(handler=_check)


def _check(args: argparse.Namespace) -> int:
    path: Path = args.file or get_settings().policy_file
    result = check_policy_file(path)
    if result.policy is not None:
        print(f"OK {path}: {summary(result.policy)}")
        return EXIT_OK
    for key_path, message in result.problems:
        print(f"{key_path}: {message}" if key_path else message)
    if not result.references_checked and all(key_path for key_path, _ in result.problems):
        print("(references between keys are checked once these are fixed)")
    count = len(result.problems)
    print(f"{path}: {count} problem{'s' if count != 1 else ''}")
    return EXIT_FAILED


def summary(policy: SupportPolicy) -> str:
    counts = [
        (len(policy.calendars), "calendar"),
        (len(policy.sla_policies), "SLA policy"),
        (len(policy.teams), "team"),
        (len(policy.agents), "agent"),
    ]
    parts = [f"{n} {noun if n == 1 else _plural(noun)}" for n, noun in counts]
    vocabulary = policy.vocabulary
    words = (
        f"priorities {' '.join(vocabulary.priority_ids)}",
        f"plans {' '.join(vocabulary.plan_ids)}",
        f"channels {' '.join(vocabulary.channel_ids)}",
    )
    return f"version {policy.version}, " + ", ".join(parts) + "; " + "; ".join(words)


def _plural(noun: str) -> str:
    return noun[:-1] + "ies" if noun.endswith("y") else noun + "s"


@dataclass(frozen=True)
class PolicyCheck:
    policy: SupportPolicy | None
    """The valid policy; None when there are problems."""
    problems: list[Problem]
    references_checked: bool
    """False when the problems hid the cross-reference checks."""


def check_policy_file(path: Path) -> PolicyCheck:
    """Every problem found in the file, or the valid policy it holds."""
    from domain.policy.support import PolicyError
    from runtime.policy_file import load_policy

    try:
        return PolicyCheck(policy=load_policy(path), problems=[], references_checked=True)
    except PolicyError as error:
        problems = list(error.problems)
    if not all(key_path for key_path, _ in problems):  # unreadable, not YAML, not a mapping
        return PolicyCheck(policy=None, problems=problems, references_checked=False)
    more = reference_problems_despite(_read_yaml(path))
    if more is None:
        return PolicyCheck(policy=None, problems=problems, references_checked=False)
    problems += [problem for problem in more if problem not in problems]
    return PolicyCheck(policy=None, problems=problems, references_checked=True)


def _read_yaml(path: Path) -> Any:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))


def reference_problems_despite(data: Any) -> list[Problem] | None:
    """The reference problems of a structurally invalid policy, or None if they can't be found.

    Drops each optional key that fails validation and validates again, until the structure is
    valid; the reference checks then run on the rest. Problems at or under a dropped key are
    left out: that key is already reported, and its default may not fit the rest of the file.
    """
    from pydantic import ValidationError

    from domain.policy.support import PolicyError, SupportPolicy

    pruned = copy.deepcopy(data)
    dropped: list[str] = []
    for _ in range(_MAX_ROUNDS):
        try:
            SupportPolicy.model_validate(pruned)
        except PolicyError as error:
            return [p for p in error.problems if not _under_any(p[0], dropped)]
        except ValidationError as error:
            if any(item["type"] == "missing" for item in error.errors()):
                return None  # a required key is broken: nothing to fall back to
            this_round: list[tuple[int | str, ...]] = []
            for location in sorted({tuple(item["loc"]) for item in error.errors()}, key=len):
                if any(location[: len(done)] == done for done in this_round):
                    continue
                if not _drop(pruned, location):
                    return None
                this_round.append(location)
                dropped.append(".".join(str(part) for part in location))
        else:
            return []
    return None


def _drop(data: Any, location: tuple[int | str, ...]) -> bool:
    """Delete the key at `location` if it sits in a mapping and names no referenced entry."""
    if len(location) < 2 or (len(location) == 2 and location[0] in _NAMED_ENTRIES):
        return False
    parent = data
    for part in location[:-1]:
        in_dict = isinstance(parent, dict) and part in parent
        in_list = isinstance(parent, list) and isinstance(part, int) and 0 <= part < len(parent)
        if not (in_dict or in_list):
            return False
        parent = parent[part]
    if not isinstance(parent, dict) or location[-1] not in parent:
        return False
    del parent[location[-1]]
    return True


def _under_any(key_path: str, dropped: list[str]) -> bool:
    return any(key_path == d or key_path.startswith(d + ".") for d in dropped)
