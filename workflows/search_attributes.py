"""The custom search attributes a ticket workflow keeps up to date.

One list, used by the workflow (to upsert), by `make run` and the tests (to
register them on the server) and mirrored in docker-compose's admin job.
No personal data ever goes into these: ids, enums, numbers and times only.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

TICKET_STATUS = SearchAttributeKey.for_keyword("TicketStatus")
TICKET_PRIORITY = SearchAttributeKey.for_keyword("TicketPriority")
TICKET_TEAM = SearchAttributeKey.for_keyword("TicketTeam")
TICKET_ASSIGNEE = SearchAttributeKey.for_keyword("TicketAssignee")
TICKET_CHANNEL = SearchAttributeKey.for_keyword("TicketChannel")
CUSTOMER_PLAN = SearchAttributeKey.for_keyword("CustomerPlan")
ESCALATION_LEVEL = SearchAttributeKey.for_int("EscalationLevel")
SLA_BREACHED = SearchAttributeKey.for_bool("SlaBreached")
NEXT_SLA_DUE_AT = SearchAttributeKey.for_datetime("NextSlaDueAt")

ALL_KEYS: tuple[SearchAttributeKey, ...] = (  # type: ignore[type-arg]
    TICKET_STATUS,
    TICKET_PRIORITY,
    TICKET_TEAM,
    TICKET_ASSIGNEE,
    TICKET_CHANNEL,
    CUSTOMER_PLAN,
    ESCALATION_LEVEL,
    SLA_BREACHED,
    NEXT_SLA_DUE_AT,
)

# Names of the value types as the `temporal` CLI spells them
# (`temporal server start-dev --search-attribute Name=Type`).
CLI_TYPE_NAMES = {
    "KEYWORD": "Keyword",
    "INT": "Int",
    "BOOL": "Bool",
    "DATETIME": "Datetime",
}


def cli_flags() -> list[str]:
    """`--search-attribute Name=Type` pairs for `temporal server start-dev`."""
    flags: list[str] = []
    for key in ALL_KEYS:
        flags += ["--search-attribute", f"{key.name}={CLI_TYPE_NAMES[key.indexed_value_type.name]}"]
    return flags
