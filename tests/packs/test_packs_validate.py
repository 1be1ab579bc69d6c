"""Every policy pack under `config/packs/` is a valid policy: through the code `ticketflow config
check` runs, and through the command itself as an operator runs it, by file and by
`TICKETFLOW_CONFIG` (what `make run` reads). Its template overrides are templates the
desk sends, and each one compiles."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from jinja2 import Environment, FileSystemLoader, select_autoescape

from activities.rendering import BUILTIN_TEMPLATES
from runtime.policy_file import load_policy
from tests.packs.desk import PACKS, REPO
from ticketflow.commands.config import check_policy_file
from ticketflow.environment import clean_env

PACK_FILES = sorted(PACKS.glob("*/policy.yaml"))
IDS = [path.parent.name for path in PACK_FILES]
# The packs this branch writes; the others (facturino, easy-einvoice) join the glob when
# they land.
OURS = {"dataflow", "plumberleads", "escalation-flow"}


def test_the_packs_are_there() -> None:
    assert set(IDS) >= OURS


@pytest.mark.parametrize("path", PACK_FILES, ids=IDS)
def test_pack_validates_as_config_check_validates_it(path: Path) -> None:
    result = check_policy_file(path)
    assert result.problems == []
    assert result.policy is not None
    assert result.policy == load_policy(path)


def _ticketflow(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ticketflow", *args],
        env=clean_env(**env),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("path", PACK_FILES, ids=IDS)
def test_config_check_command_exits_0_for_the_pack(path: Path) -> None:
    by_file = _ticketflow("config", "check", str(path.relative_to(REPO)))
    assert by_file.returncode == 0, by_file.stdout + by_file.stderr
    assert by_file.stdout.startswith("OK ")
    # `TICKETFLOW_CONFIG=config/packs/<desk>/policy.yaml make run` reads the same variable.
    by_env = _ticketflow("config", "check", TICKETFLOW_CONFIG=str(path))
    assert by_env.returncode == 0, by_env.stdout + by_env.stderr
    assert str(path) in by_env.stdout


@pytest.mark.parametrize("path", PACK_FILES, ids=IDS)
def test_template_overrides_are_known_templates_that_compile(path: Path) -> None:
    policy = load_policy(path)
    if policy.templates_dir is None:
        pytest.skip("no template overrides")
    folder = path.parent / policy.templates_dir
    assert folder.is_dir()
    known = {
        p.relative_to(BUILTIN_TEMPLATES / "en").as_posix()
        for p in BUILTIN_TEMPLATES.glob("en/*.j2")
    }
    environment = Environment(
        loader=FileSystemLoader(str(folder)),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
    )
    overrides = sorted(folder.glob("*/*.j2"))
    assert overrides
    for template in overrides:
        language, name = template.parent.name, template.name
        assert language in policy.languages, template
        assert name in known, f"{template}: no built-in template {name}"
        environment.get_template(f"{language}/{name}")  # raises on a syntax error
        # A template is overridden as a whole: subject, text and HTML together.
        stem = name.split(".")[0]
        for part in ("subject", "txt", "html"):
            assert (template.parent / f"{stem}.{part}.j2").is_file(), (template, part)


@pytest.mark.parametrize("path", PACK_FILES, ids=IDS)
def test_readme_lists_the_pack_and_how_to_run_it(path: Path) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"| `{path.parent.name}` |" in readme
    assert "TICKETFLOW_CONFIG=config/packs/dataflow/policy.yaml make run" in readme
