"""Policies with ladders, built from the default policy file, shared by the domain and the
workflow tests of escalation ladders: the generic flow (seed 003), a DataFlow-like path per
priority (seed 004), Easy e-Invoice's five levels escalating at 80 % (seed 001), and a
security content trigger."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import yaml

from domain.policy.support import SupportPolicy, parse_policy
from runtime.settings import DEFAULT_POLICY_FILE

CTO = "cto@dataflow.example"
DIRECTOR = "support-director@dataflow.example"
SUPPORT_MANAGER = "support-manager@dataflow.example"


@cache
def _default_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DEFAULT_POLICY_FILE.read_text(encoding="utf-8"))
    return data


def policy_data() -> dict[str, Any]:
    """The default policy file as data, with two more teams (devops, product) and security."""
    data = copy.deepcopy(_default_data())
    for team, lead in (("devops", "dmitri"), ("product", "paula"), ("security", "sam")):
        data["teams"][team] = {
            "name": team.title(),
            "lead": lead,
            "email": f"{team}@ticketflow.local",
            "calendar": "24x7",
        }
        data["agents"][lead] = {
            "name": lead.title(),
            "email": f"{lead}@ticketflow.local",
            "team": team,
            "capacity": 5,
        }
    return data


def with_escalation(escalation: dict[str, Any], **top: Any) -> SupportPolicy:
    data = policy_data()
    data["escalation"] = {**data["escalation"], **escalation}
    data.update(top)
    return parse_policy(data)


FOUR_LEVELS = [
    {"level": 0, "name": "Agent", "notify_team": "frontline"},
    {"level": 1, "name": "Senior Support", "notify_team": "technical"},
    {"level": 2, "name": "Engineering", "notify_team": "engineering", "team": "engineering"},
    {"level": 3, "name": "Management", "notify_team": "management", "notify_agents": ["judy"]},
]


def generic_flow() -> SupportPolicy:
    """Seed 003: no response within 15 minutes alerts the lead (the breach does not climb);
    unresolved after 1 h -> Senior Support, 4 h -> Engineering (the ticket moves there),
    24 h -> Management; on a 24x7 calendar."""
    sla = [
        {
            "id": "flow",
            "match": {},
            "targets": {"first_response": "15m", "resolution": "48h"},
            "calendar": "24x7",
            "at_risk_percent": [50],
        }
    ]
    return with_escalation(
        {
            "levels": FOUR_LEVELS,
            "breach_action": "notify",
            "ladders": [
                {
                    "name": "generic",
                    "steps": [
                        {"to": "Senior Support", "after": "1h", "since": "created"},
                        {"to": "Engineering", "after": "4h", "since": "created"},
                        {"to": "Management", "after": "24h", "since": "created"},
                    ],
                }
            ],
        },
        sla_policies=sla,
    )


DATAFLOW_LEVELS = [
    {"level": 0, "name": "Support", "notify_team": "frontline"},
    {"level": 1, "name": "Product", "team": "product", "notify_team": "product"},
    {
        "level": 2,
        "name": "Engineering",
        "team": "engineering",
        "notify_team": "engineering",
        "notify_emails": [SUPPORT_MANAGER],
    },
    {
        "level": 3,
        "name": "DevOps",
        "team": "devops",
        "notify_team": "devops",
        "notify_emails": [CTO, DIRECTOR],
    },
]


def dataflow() -> SupportPolicy:
    """Seed 004 with today's priorities standing in for P0-P3 (P1 for P0, ...): P1 -> DevOps
    in 30 minutes, CTO and Support Director notified; P2 -> Engineering in 2 h, the Support
    Manager notified; P3-P4 -> Product in 24 h."""
    return with_escalation(
        {
            "levels": DATAFLOW_LEVELS,
            # A breach apologises (the manager signs); the paths below do the climbing.
            "breach_action": "notify",
            "ladders": [
                {
                    "name": "outage",
                    "match": {"priority": ["P1"]},
                    "steps": [{"to": "DevOps", "after": "30m", "since": "created"}],
                },
                {
                    "name": "major",
                    "match": {"priority": ["P2"]},
                    "steps": [{"to": "Engineering", "after": "2h", "since": "created"}],
                },
                {
                    "name": "minor",
                    "match": {"priority": ["P3", "P4"]},
                    "steps": [{"to": "Product", "after": "24h", "since": "created"}],
                },
            ],
        }
    )


def easy_einvoice() -> SupportPolicy:
    """Seed 001: five levels; reaching 80 % of a target escalates one level."""
    levels = [
        {"level": 0, "name": "Tier 1", "notify_team": "frontline"},
        {"level": 1, "name": "Tier 2", "notify_team": "technical"},
        {"level": 2, "name": "Tier 3 Compliance", "notify_team": "compliance"},
        {"level": 3, "name": "Management", "notify_team": "management"},
        {"level": 4, "name": "Executive", "notify_emails": ["ceo@easy.example", CTO]},
    ]
    return with_escalation({"levels": levels, "at_risk_action": "escalate"})


def security_trigger() -> SupportPolicy:
    """The default ladder plus a Security level and a content trigger that goes there."""
    levels = [
        *copy.deepcopy(_default_data()["escalation"]["levels"]),
        {"level": 4, "name": "Security", "team": "security", "notify_team": "security"},
    ]
    trigger = {
        "name": "security",
        "keywords": {"en": ["security breach", "data leak"], "es": ["brecha de seguridad"]},
        "to": "Security",
    }
    return with_escalation({"levels": levels, "content_triggers": [trigger]})
