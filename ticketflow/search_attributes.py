"""Registering the ticket search attributes (`workflows.search_attributes`) on a server:
flags for `temporal server start-dev`, or the operator service of a running one.

Operator tooling: `ticketflow dev` and the tests use it; the workflow never does.
"""

from __future__ import annotations

from temporalio.client import Client

from workflows.search_attributes import ALL_KEYS

# Names of the value types as the `temporal` CLI spells them
# (`temporal server start-dev --search-attribute Name=Type`).
CLI_TYPE_NAMES = {
    "KEYWORD": "Keyword",
    "INT": "Int",
    "BOOL": "Bool",
    "DATETIME": "Datetime",
    "KEYWORD_LIST": "KeywordList",
}


def cli_flags() -> list[str]:
    """`--search-attribute Name=Type` pairs for `temporal server start-dev`."""
    flags: list[str] = []
    for key in ALL_KEYS:
        flags += ["--search-attribute", f"{key.name}={CLI_TYPE_NAMES[key.indexed_value_type.name]}"]
    return flags


async def register(client: Client, namespace: str) -> None:
    """Register the ticket search attributes on `namespace` (servers started without flags)."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest

    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=namespace,
            search_attributes={
                key.name: IndexedValueType.ValueType(key.indexed_value_type.value)
                for key in ALL_KEYS
            },
        )
    )
