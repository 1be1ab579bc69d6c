"""The fault suite's support policy: the default file, with P1 due in seconds.

Derived at run time from config/policy.yaml (never a copy kept by hand): every SLA
policy that matches P1 gets a first-response target of `first_response_seconds` on
the 24x7 calendar, and next-update / resolution targets far enough out that no other
clock acts during a case. Everything else (routing, ladder, templates) is the default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from domain.sla.durations import format_duration
from runtime.policy_file import load_policy
from runtime.settings import DEFAULT_POLICY_FILE

FAR_TARGETS = {"next_update": "2h", "resolution": "4h"}


def write_fault_policy(directory: Path, *, first_response_seconds: int) -> Path:
    """Write the derived policy into `directory`; validated as the worker and API will."""
    data: dict[str, Any] = yaml.safe_load(DEFAULT_POLICY_FILE.read_text(encoding="utf-8"))
    data["version"] = f"{data['version']}+faults"
    derived = 0
    for sla in data["sla_policies"]:
        if "P1" in (sla.get("match") or {}).get("priority", []):
            sla["targets"] = {
                "first_response": format_duration(first_response_seconds),
                **FAR_TARGETS,
            }
            sla["calendar"] = "24x7"
            derived += 1
    if not derived:
        raise ValueError(f"{DEFAULT_POLICY_FILE} has no SLA policy matching P1 to shorten")
    path = directory / "policy.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    load_policy(path)  # a derivation the schema refuses fails here, naming the key
    return path
