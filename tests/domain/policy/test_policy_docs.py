"""docs/policy.md names every key the policy file accepts.

Walks `SupportPolicy` and every model it nests: each field's key must appear in the page as
a word. A new key without documentation fails here, naming its path in the file.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path

from pydantic import BaseModel

from domain.policy.support import SupportPolicy

PAGE = Path(__file__).resolve().parents[3] / "docs" / "policy.md"


def _nested_models(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _nested_models(arg)]


def _keys(model: type[BaseModel], path: str, seen: set[type[BaseModel]]) -> list[str]:
    if model in seen:
        return []
    seen.add(model)
    keys: list[str] = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        keys.append(f"{path}{key}")
        for nested in _nested_models(field.annotation):
            keys += _keys(nested, f"{path}{key}.", seen)
    return keys


def test_every_policy_key_is_on_the_page() -> None:
    page = PAGE.read_text()
    keys = _keys(SupportPolicy, "", set())
    assert len(keys) > 100, "the walk missed the nested models"
    missing = [
        key
        for key in keys
        if not re.search(rf"(?<![\w-]){re.escape(key.rpartition('.')[2])}(?![\w-])", page)
    ]
    assert missing == [], f"docs/policy.md does not mention {missing}"
