"""The environment a ticketflow process is started with by our own tools (the bench, the
fault suite, the command tests): the caller's ticketflow settings left out, so a developer's
`.env` or shell never changes what is measured or tested."""

from __future__ import annotations

import os
from collections.abc import Iterable

from api.config import ApiSettings
from runtime.settings import REPO_ROOT, Settings
from ticketflow.dev import DevOptions


def setting_names() -> set[str]:
    """Every environment variable a ticketflow process reads as a setting: the runtime's,
    the API's and the dev stack's."""
    models = (Settings, ApiSettings, DevOptions)
    return {f.alias for model in models for f in model.model_fields.values() if f.alias}


def clean_env(*, drop: Iterable[str] = (), **overrides: str) -> dict[str, str]:
    """`os.environ` without any ticketflow setting nor the names in `drop`, the repository
    first on PYTHONPATH (run elsewhere, the editable install would resolve the top-level
    packages as namespace packages), then `overrides`."""
    left_out = setting_names() | set(drop)
    env = {name: value for name, value in os.environ.items() if name not in left_out}
    python_path = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    return {**env, "PYTHONPATH": python_path, **overrides}
