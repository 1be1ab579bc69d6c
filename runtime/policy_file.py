"""Reading the support policy file: YAML, a key given twice refused, then validated whole.

The only place the policy touches the file system; the API and the worker call it at
start-up, the commands when asked. Validation is pure (`domain.policy.support`).
"""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml

from domain.policy.support import PolicyError, SupportPolicy, parse_policy


def load_policy(path: str | Path) -> SupportPolicy:
    """Read and validate the policy file; PolicyError names the file and every problem."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        message = f"cannot read policy file {source}: {error.strerror}"
        raise PolicyError([("", message)], source) from None
    try:
        data = yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        message = f"invalid YAML in {source}: {_yaml_message(error)}"
        raise PolicyError([("", message)], source) from None
    return parse_policy(data, source)


def _yaml_message(error: Exception) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    if mark is None:
        return str(problem)
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"


class UniqueKeyLoader(yaml.SafeLoader):
    """A yaml SafeLoader that rejects a key given twice in one mapping (YAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                continue  # SafeLoader reports unhashable keys itself
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)
