"""Reading the policy file: YAML errors with their line, duplicate keys, a missing file,
and a validation error named by its key and its file."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from domain.policy.support import PolicyError
from runtime.policy_file import load_policy
from tests.domain.policy.test_policy import minimal_policy


def test_load_policy_reports_yaml_syntax_errors_with_line(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("version: '1'\ncalendars:\n  office: [unclosed\n", encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    message = str(caught.value)
    assert message.startswith(f"invalid YAML in {path}: line ")
    assert len(message.splitlines()) == 1


def test_load_policy_rejects_duplicate_keys(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("version: '1'\nversion: '2'\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="line 2, column 1: duplicate key 'version'"):
        load_policy(path)


def test_load_policy_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read policy file"):
        load_policy(tmp_path / "absent.yaml")


def test_load_policy_names_the_key_of_a_file_error(tmp_path: Path) -> None:
    data = copy.deepcopy(minimal_policy())
    data["teams"]["billing"]["lead"] = "zed"
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert str(caught.value) == "teams.billing.lead: unknown agent 'zed'"
    assert caught.value.source == str(path)
