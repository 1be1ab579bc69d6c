"""The OpenAPI description names the loaded policy's priorities, plans and channels.

Their ids are plain strings in the code (`domain.enums.PriorityId`, ...), marked in the
schema with `x-vocabulary`; here each marked schema gets the `enum` of the policy the API
runs with, so clients (and the fuzzer) see exactly the ids intake accepts.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from domain.policy.vocabulary import Vocabulary


def _fill(node: Any, ids: dict[str, list[str]]) -> None:
    if isinstance(node, dict):
        kind = node.get("x-vocabulary")
        if kind in ids:
            node["enum"] = ids[kind]
            if "default" in node and node["default"] not in ids[kind]:
                del node["default"]  # e.g. plan "starter" where the policy has no such plan
        for value in node.values():
            _fill(value, ids)
    elif isinstance(node, list):
        for value in node:
            _fill(value, ids)


def install(app: FastAPI, vocabulary: Vocabulary) -> None:
    """Make `app.openapi()` list `vocabulary`'s ids wherever the schema takes one."""
    ids = {
        "priorities": vocabulary.priority_ids,
        "plans": vocabulary.plan_ids,
        "channels": vocabulary.channel_ids,
    }
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()  # cached by FastAPI after the first call; filling is idempotent
        _fill(schema, ids)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
