"""Static checks of the production topology: docker-compose.yml, the Dockerfile and
the Temporal bootstrap script under deploy/.

No Docker engine is needed: the files are parsed and checked against what the code
expects (service names, settings, the search attributes of
`workflows.search_attributes`), so a drift between them fails here first.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from runtime.settings import Settings
from ticketflow.search_attributes import CLI_TYPE_NAMES
from workflows.search_attributes import ALL_KEYS

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
SETUP_SCRIPT = ROOT / "deploy" / "temporal-setup.sh"
POSTGRES_INIT = ROOT / "deploy" / "postgres-init.sh"

EXPECTED_SERVICES = {
    "postgres",
    "temporal-admin-tools",
    "temporal",
    "temporal-setup",
    "temporal-ui",
    "mailpit",
    "migrate",
    "api",
    "worker",
}
APP_SERVICES = ("migrate", "api", "worker")
GATING_CONDITIONS = {"service_healthy", "service_completed_successfully"}

# `$$` is compose's escape for a literal `$`; anything else starting with `$` is
# interpolated from the host environment.
VARIABLE_RE = re.compile(r"(?<!\$)\$(?:\{([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*))")
BRACED_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


# --- helpers --------------------------------------------------------------------


def load_compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict), "docker-compose.yml must be a mapping"
    return data


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result = compose.get("services")
    assert isinstance(result, dict), "docker-compose.yml has no services"
    assert result, "docker-compose.yml has no services"
    return result


def interpolate(value: str) -> str:
    """Resolve `${VAR:-default}` to its default and any other reference to `<VAR>`,
    as compose would with an empty host environment (bar the required ones)."""

    def replace(match: re.Match[str]) -> str:
        name, operator, default = match.group(1), match.group(2), match.group(3)
        if operator in {":-", "-"}:
            return default or ""
        return f"<{name}>"

    return BRACED_RE.sub(replace, value)


def environment(service: dict[str, Any]) -> dict[str, str | None]:
    env = service.get("environment", {})
    if isinstance(env, list):
        pairs = (item.split("=", 1) if "=" in item else (item, None) for item in env)
        return {key: value for key, value in pairs}
    assert isinstance(env, dict)
    return {str(k): None if v is None else interpolate(str(v)) for k, v in env.items()}


def depends_on(service: dict[str, Any]) -> dict[str, Any]:
    deps = service.get("depends_on", {})
    assert isinstance(deps, dict), "depends_on must use the long form with a condition"
    return deps


def image_tag(image: str) -> str | None:
    """The tag (or digest) of an image reference; None when it has neither."""
    if "@" in image:
        return image.split("@", 1)[1]
    last = image.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def published_ports(service: dict[str, Any]) -> dict[int, int]:
    """host port -> container port for a service's `ports:`."""
    result: dict[int, int] = {}
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            result[int(entry["published"])] = int(entry["target"])
            continue
        parts = str(entry).split("/", 1)[0].split(":")
        if len(parts) < 2:
            continue  # container port only: not published on a fixed host port
        result[int(parts[-2])] = int(parts[-1])
    return result


def compose_command(service: dict[str, Any], key: str) -> list[str]:
    value = service.get(key, [])
    return value.split() if isinstance(value, str) else [str(v) for v in value]


def script_search_attributes() -> dict[str, str]:
    """The Name=Type entries of SEARCH_ATTRIBUTES in deploy/temporal-setup.sh."""
    match = re.search(r"^SEARCH_ATTRIBUTES='(.*?)'$", SETUP_SCRIPT.read_text(), re.M | re.S)
    assert match, "SEARCH_ATTRIBUTES='...' block not found in deploy/temporal-setup.sh"
    pairs: dict[str, str] = {}
    for line in match.group(1).split():
        name, sep, type_name = line.partition("=")
        assert sep, f"bad search attribute entry {line!r}"
        assert name, f"bad search attribute entry {line!r}"
        assert type_name, f"bad search attribute entry {line!r}"
        assert name not in pairs, f"search attribute {name} listed twice"
        pairs[name] = type_name
    return pairs


def dockerfile_instructions() -> Iterator[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, args = line.partition(" ")
        yield instruction.upper(), args.strip()


def documented_settings() -> set[str]:
    """Environment variables ticketflow itself reads (the aliases of Settings)."""
    names = {field.alias for field in Settings.model_fields.values() if field.alias}
    assert "DATABASE_URL" in names
    assert "TICKETFLOW_TOKENS" in names
    return names


def documented_in_compose_file() -> set[str]:
    """Variables explained in a comment line of docker-compose.yml (`#   NAME  text`)."""
    documented: set[str] = set()
    for line in COMPOSE_FILE.read_text().splitlines():
        match = re.match(r"^\s*#\s+([A-Z][A-Z0-9_]*)\s+\S", line)
        if match:
            documented.add(match.group(1))
    return documented


# --- services and dependencies -------------------------------------------------------


def test_expected_services_exist(services: dict[str, dict[str, Any]]) -> None:
    missing = EXPECTED_SERVICES - services.keys()
    assert not missing, f"docker-compose.yml lacks services {sorted(missing)}"


def test_every_image_is_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        assert "image" in service or "build" in service, f"{name} has neither image nor build"
        if "image" not in service:
            continue
        image = str(service["image"])
        assert "$" not in image, f"{name}: image {image!r} must not come from a variable"
        tag = image_tag(image)
        assert tag, f"{name}: image {image!r} has no tag"
        assert tag != "latest", f"{name}: image {image!r} uses the latest tag"
        assert re.search(r"\d", tag), f"{name}: image {image!r} is not pinned to a version"


def test_temporal_images_share_one_version(services: dict[str, dict[str, Any]]) -> None:
    server = image_tag(str(services["temporal"]["image"]))
    for job in ("temporal-admin-tools", "temporal-setup"):
        image = str(services[job]["image"])
        assert image.startswith("temporalio/admin-tools:"), f"{job} runs {image}"
        assert image_tag(image) == server, f"{job} ({image}) differs from the server ({server})"
    assert str(services["temporal"]["image"]).startswith("temporalio/server:")
    assert "auto-setup" not in COMPOSE_FILE.read_text(), "temporalio/auto-setup is deprecated"


def test_depends_on_is_gated_and_points_to_existing_services(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        for target, spec in depends_on(service).items():
            assert target in services, f"{name} depends on unknown service {target}"
            assert isinstance(spec, dict), f"{name} -> {target}: give a condition"
            condition = spec.get("condition")
            assert condition in GATING_CONDITIONS, (
                f"{name} -> {target}: condition {condition!r} is not a health/completion gate"
            )


def test_health_gated_services_have_a_healthcheck(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for target, spec in depends_on(service).items():
            if spec.get("condition") != "service_healthy":
                continue
            check = services[target].get("healthcheck")
            assert isinstance(check, dict), f"{name} waits for {target} healthy: no healthcheck"
            assert not check.get("disable"), f"{target}'s healthcheck is disabled"
            assert check.get("test"), f"{target}'s healthcheck has no test"


def test_one_shot_jobs_are_not_restarted(services: dict[str, dict[str, Any]]) -> None:
    jobs = {
        target
        for service in services.values()
        for target, spec in depends_on(service).items()
        if spec.get("condition") == "service_completed_successfully"
    }
    assert {"temporal-admin-tools", "temporal-setup", "migrate"} <= jobs
    for job in jobs:
        restart = str(services[job].get("restart", "no"))
        assert restart in {"no", "on-failure"} or restart.startswith("on-failure:"), (
            f"job {job} has restart: {restart}; it would never complete"
        )


def test_startup_order(services: dict[str, dict[str, Any]]) -> None:
    def gate(service: str, target: str) -> str | None:
        spec = depends_on(services[service]).get(target)
        return None if spec is None else str(spec.get("condition"))

    assert gate("temporal-admin-tools", "postgres") == "service_healthy"
    assert gate("temporal", "temporal-admin-tools") == "service_completed_successfully"
    assert gate("temporal-setup", "temporal") == "service_healthy"
    assert gate("migrate", "postgres") == "service_healthy"
    for app in ("api", "worker"):
        assert gate(app, "migrate") == "service_completed_successfully"
        assert gate(app, "temporal-setup") == "service_completed_successfully"
        assert gate(app, "mailpit") == "service_healthy"


# --- the application containers ------------------------------------------------------


def test_app_services_build_from_the_dockerfile(services: dict[str, dict[str, Any]]) -> None:
    for name in APP_SERVICES:
        build = services[name].get("build")
        assert build is not None, f"{name} is not built from the Dockerfile"
        context = build if isinstance(build, str) else build.get("context", ".")
        dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile")
        assert (ROOT / str(context)).resolve() == ROOT, f"{name} builds from {context}"
        assert (ROOT / str(context) / str(dockerfile)).resolve() == DOCKERFILE

    expected = {"migrate": ["migrate"], "api": ["api"], "worker": ["worker"]}
    for name, command in expected.items():
        assert compose_command(services[name], "command") == command, name


def test_app_services_point_at_the_compose_backends(services: dict[str, dict[str, Any]]) -> None:
    for name in APP_SERVICES:
        env = environment(services[name])

        url = urlsplit(str(env.get("DATABASE_URL")))
        assert url.scheme == "postgresql+psycopg", f"{name}: DATABASE_URL scheme {url.scheme}"
        assert url.hostname == "postgres", f"{name}: DATABASE_URL host {url.hostname}"
        assert url.hostname in services, f"{name}: {url.hostname} is not a service"
        assert url.path == "/ticketflow", f"{name}: DATABASE_URL database {url.path}"

        temporal_host, _, temporal_port = str(env.get("TEMPORAL_ADDRESS")).partition(":")
        assert temporal_host == "temporal", f"{name}: TEMPORAL_ADDRESS host {temporal_host}"
        assert temporal_host in services, f"{name}: {temporal_host} is not a service"
        assert temporal_port == "7233", f"{name}: TEMPORAL_ADDRESS port {temporal_port}"

        assert env.get("SMTP_HOST") == "mailpit", f"{name}: SMTP_HOST {env.get('SMTP_HOST')}"
        assert env.get("SMTP_PORT") == "1025", f"{name}: SMTP_PORT {env.get('SMTP_PORT')}"

    api_env = environment(services["api"])
    assert api_env.get("API_HOST") == "0.0.0.0"  # noqa: S104 - inside the container
    raw_tokens = services["api"]["environment"]["TICKETFLOW_TOKENS"]
    assert re.fullmatch(r"\$\{TICKETFLOW_TOKENS:\?[^}]+\}", str(raw_tokens)), raw_tokens


def test_setup_job_and_app_agree_on_the_namespace(services: dict[str, dict[str, Any]]) -> None:
    setup_env = environment(services["temporal-setup"])
    assert setup_env.get("TEMPORAL_ADDRESS") == "temporal:7233"
    for name in ("api", "worker"):
        assert environment(services[name]).get("TEMPORAL_NAMESPACE") == setup_env.get(
            "TEMPORAL_NAMESPACE"
        ), name


def test_workers_scale_out(services: dict[str, dict[str, Any]]) -> None:
    replicas = services["worker"].get("deploy", {}).get("replicas", 1)
    assert int(replicas) >= 2, "run more than one worker (deploy.replicas)"
    assert "container_name" not in services["worker"], "a fixed container_name prevents scaling"
    assert not published_ports(services["worker"]), "a published port prevents scaling"


def test_worker_processes_and_cache_are_settings_the_worker_reads(
    services: dict[str, dict[str, Any]],
) -> None:
    env = environment(services["worker"])
    for name in ("WORKER_PROCESSES", "WORKER_MAX_CACHED_WORKFLOWS"):
        assert name in documented_settings(), f"{name} is not a ticketflow setting"
        assert name in env, f"the worker service does not set {name}"
    settings = Settings.model_validate({k: v for k, v in env.items() if v is not None})
    assert settings.worker_processes >= 1
    assert settings.worker_max_cached_workflows >= 1
    assert compose_command(services["worker"], "command") == ["worker"]


def test_api_healthcheck_probes_healthz(services: dict[str, dict[str, Any]]) -> None:
    test = " ".join(str(part) for part in services["api"]["healthcheck"]["test"])
    assert "/healthz" in test, test
    assert ":8000" in test, test


def test_ui_api_and_mailpit_ports_are_published(services: dict[str, dict[str, Any]]) -> None:
    assert published_ports(services["temporal-ui"]).get(8233) == 8080
    assert published_ports(services["api"]).get(8000) == 8000
    assert published_ports(services["mailpit"]).get(8025) == 8025
    assert environment(services["temporal-ui"]).get("TEMPORAL_ADDRESS") == "temporal:7233"


def test_payloads_are_encrypted_and_the_ui_decodes_with_the_api_s_codec(
    services: dict[str, dict[str, Any]],
) -> None:
    """The worker and the API share a required keyring; the UI's browser calls the API's
    /codec on its published port, and the API's CORS answers the UI's published origin."""
    for name in ("worker", "api"):
        raw = services[name]["environment"]["TICKETFLOW_PAYLOAD_KEYS"]
        assert re.fullmatch(r"\$\{TICKETFLOW_PAYLOAD_KEYS:\?[^}]+\}", str(raw)), (name, raw)
        assert "TICKETFLOW_PAYLOAD_ACTIVE_KEY" in environment(services[name])
    ui = environment(services["temporal-ui"])
    api_port = next(h for h, inside in published_ports(services["api"]).items() if inside == 8000)
    assert ui.get("TEMPORAL_CODEC_ENDPOINT") == f"http://localhost:{api_port}/codec"
    ui_ports = published_ports(services["temporal-ui"]).items()
    ui_port = next(host for host, inside in ui_ports if inside == 8080)
    assert environment(services["api"]).get("CODEC_UI_ORIGIN") == f"http://localhost:{ui_port}"
    assert ui.get("TEMPORAL_CODEC_PASS_ACCESS_TOKEN") == "false"
    assert "CODEC_ALLOW_LOOPBACK" not in environment(services["api"])  # dev only


def test_every_interpolated_variable_is_documented() -> None:
    allowed = documented_settings() | documented_in_compose_file()
    text = COMPOSE_FILE.read_text()
    referenced = {a or b for a, b in VARIABLE_RE.findall(text)}
    assert "TICKETFLOW_TOKENS" in referenced
    undocumented = referenced - allowed
    assert not undocumented, (
        f"docker-compose.yml reads {sorted(undocumented)} from the host environment: "
        "use a documented setting or explain it in the header comment"
    )


# --- Postgres and the Temporal server ---------------------------------------------------


def test_postgres_has_a_volume_an_init_and_pg_isready(
    services: dict[str, dict[str, Any]], compose: dict[str, Any]
) -> None:
    postgres = services["postgres"]
    assert re.fullmatch(r"postgres:\d+\.\d+.*", str(postgres["image"])), postgres["image"]
    volumes = [str(v) for v in postgres.get("volumes", [])]
    data = [v for v in volumes if v.split(":")[1:2] == ["/var/lib/postgresql/data"]]
    assert data, "postgres data is not on a volume"
    assert data[0].split(":")[0] in (compose.get("volumes") or {}), "declare the named volume"
    inits = [v for v in volumes if ":/docker-entrypoint-initdb.d/" in v]
    assert inits, "no init script in /docker-entrypoint-initdb.d"
    assert (ROOT / inits[0].split(":")[0]).resolve() == POSTGRES_INIT
    assert "pg_isready" in " ".join(str(p) for p in postgres["healthcheck"]["test"])

    init = POSTGRES_INIT.read_text()
    for database in ("ticketflow", "temporal", "temporal_visibility"):
        assert re.search(rf"CREATE DATABASE {database}\b", init), database


def test_temporal_server_uses_the_postgres_service(services: dict[str, dict[str, Any]]) -> None:
    env = environment(services["temporal"])
    assert env.get("DB") == "postgres12"
    assert env.get("POSTGRES_SEEDS") == "postgres"
    assert "postgres" in services
    assert env.get("DB_PORT") == "5432"
    assert env.get("DBNAME", "temporal") == "temporal"
    assert env.get("VISIBILITY_DBNAME", "temporal_visibility") == "temporal_visibility"
    assert services["temporal"].get("healthcheck"), "the server needs a healthcheck"

    schema_env = environment(services["temporal-admin-tools"])
    assert schema_env.get("SQL_PLUGIN") == "postgres12"
    assert schema_env.get("SQL_HOST") == "postgres"
    assert schema_env.get("SQL_USER") == env.get("POSTGRES_USER")
    assert schema_env.get("SQL_PASSWORD") == env.get("POSTGRES_PWD")


def test_temporal_dynamic_config_is_mounted_and_valid(services: dict[str, dict[str, Any]]) -> None:
    env = environment(services["temporal"])
    path = str(env.get("DYNAMIC_CONFIG_FILE_PATH"))
    mounts = [str(v).split(":") for v in services["temporal"].get("volumes", [])]
    host_file = next(
        (ROOT / host / path.removeprefix(target).lstrip("/"))
        for host, target, *_ in mounts
        if path.startswith(target.rstrip("/") + "/")
    )
    assert host_file.is_file(), f"{path} is not backed by a file in the repo"
    config = yaml.safe_load(host_file.read_text())
    assert isinstance(config, dict)
    for key, entries in config.items():
        assert isinstance(entries, list), key
        assert entries, key
        assert all("value" in entry for entry in entries), key


def test_setup_jobs_run_the_setup_script(services: dict[str, dict[str, Any]]) -> None:
    for job, mode in (("temporal-admin-tools", "schema"), ("temporal-setup", "namespace")):
        service = services[job]
        argv = compose_command(service, "entrypoint") + compose_command(service, "command")
        mounts = {
            str(v).split(":")[1]: (ROOT / str(v).split(":")[0]).resolve()
            for v in service.get("volumes", [])
        }
        scripts = [arg for arg in argv if mounts.get(arg) == SETUP_SCRIPT]
        assert scripts, f"{job} does not run deploy/temporal-setup.sh: {argv}"
        assert argv[-1] == mode, f"{job} runs mode {argv[-1]}, expected {mode}"


def test_setup_creates_exactly_the_workflow_search_attributes() -> None:
    expected = {key.name: CLI_TYPE_NAMES[key.indexed_value_type.name] for key in ALL_KEYS}
    assert script_search_attributes() == expected


def test_setup_script_uses_the_postgres12_schema() -> None:
    # Commands only: comment lines do not count.
    code = "\n".join(
        line for line in SETUP_SCRIPT.read_text().splitlines() if not line.lstrip().startswith("#")
    )
    assert re.search(r"^\s*temporal-sql-tool \\$", code, re.M), "temporal-sql-tool is never run"
    assert '--plugin "${SQL_PLUGIN:-postgres12}"' in code
    assert "${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}" in code
    for database in ("${TEMPORAL_DB:-temporal}=temporal", "=visibility"):
        assert database in code, database
    assert re.search(r'sql_tool --db "\$db" setup-schema -v 0\.0$', code, re.M)
    assert re.search(r'sql_tool --db "\$db" update-schema -d "\$versioned"$', code, re.M)
    assert "operator namespace create" in code
    assert "operator search-attribute create" in code


@pytest.mark.parametrize("script", [SETUP_SCRIPT, POSTGRES_INIT], ids=lambda p: p.name)
@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_shell_scripts_parse(script: Path, shell: str) -> None:
    # The admin-tools image has only busybox sh, so the scripts must be POSIX too.
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    result = subprocess.run([shell, "-n", str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert script.read_text().startswith("#!/bin/sh\n")


# --- the image ---------------------------------------------------------------------------


def test_dockerfile_base_image_is_pinned() -> None:
    instructions = list(dockerfile_instructions())
    args: dict[str, str] = {}
    stages: set[str] = set()
    froms = 0
    for instruction, rest in instructions:
        if instruction == "ARG" and "=" in rest:
            name, _, default = rest.partition("=")
            args[name.strip()] = default.strip().strip("\"'")
        if instruction != "FROM":
            continue
        froms += 1
        words = [w for w in rest.split() if not w.startswith("--")]
        image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), words[0])
        if len(words) >= 3 and words[1].upper() == "AS":
            stages.add(words[2])
        if image in stages:
            continue
        assert re.fullmatch(r"python:3\.11\.\d+-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?", image), (
            f"base image {image!r} is not a pinned python:3.11.X-slim"
        )
    assert froms >= 2, "the Dockerfile must be multi-stage"


def test_dockerfile_installs_with_constraints_and_runs_unprivileged() -> None:
    instructions = list(dockerfile_instructions())
    installs = [
        rest
        for instruction, rest in instructions
        if instruction == "RUN" and re.search(r"\bpip install\b", rest)
    ]
    assert installs, "the Dockerfile installs nothing with pip"
    for rest in installs:
        for command in re.split(r"&&|;", rest):
            if "pip install" in command:
                assert re.search(r"(-c|--constraint)[ =]constraints\.txt", command), command
                assert "[dev]" not in command, command
                assert ".[" not in command, command

    users = [rest for instruction, rest in instructions if instruction == "USER"]
    assert users, "the image runs as root"
    assert users[-1].split(":")[0] not in {"root", "0"}, users[-1]

    entrypoints = [rest for instruction, rest in instructions if instruction == "ENTRYPOINT"]
    assert entrypoints, "no ENTRYPOINT"
    assert entrypoints[-1] == '["ticketflow"]', entrypoints


def test_image_carries_the_support_policy() -> None:
    """TICKETFLOW_CONFIG in the image names a file the image copies from the repo."""
    instructions = list(dockerfile_instructions())
    envs = [
        match.group(1)
        for instruction, rest in instructions
        if instruction == "ENV"
        for match in [re.search(r"\bTICKETFLOW_CONFIG=(\S+)", rest)]
        if match
    ]
    assert envs, "the image does not set TICKETFLOW_CONFIG"
    policy = envs[-1]
    sources = [
        ROOT / words[0] / policy.removeprefix(words[1].rstrip("/") + "/")
        for instruction, rest in instructions
        if instruction == "COPY" and not rest.startswith("--from")
        for words in [rest.split()]
        if len(words) == 2 and policy.startswith(words[1].rstrip("/") + "/")
    ]
    assert sources, f"nothing in the Dockerfile copies {policy} into the image"
    assert sources[-1].is_file(), f"{policy} comes from {sources[-1]}, which does not exist"


def test_dockerignore_keeps_local_state_out() -> None:
    entries = {
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for required in (".venv", ".data", ".git", ".env", "**/__pycache__", ".mypy_cache"):
        assert required in entries, f".dockerignore lacks {required}"
    for needed in ("pyproject.toml", "constraints.txt", "README.md", "ticketflow", "config", "*"):
        assert needed not in entries, f".dockerignore drops {needed}, which the build needs"


def test_worker_and_api_share_the_survey_and_policy_settings(
    services: dict[str, dict[str, Any]],
) -> None:
    """The worker signs survey links and the API checks them: both see one secret, one public
    address and one policy file, and the default policy (or a pack) is one the image carries."""
    worker, api = environment(services["worker"]), environment(services["api"])
    for name in ("TICKETFLOW_CONFIG", "TICKETFLOW_CSAT_SECRET", "PUBLIC_URL", "PORTAL_URL"):
        assert name in documented_settings(), f"{name} is not a ticketflow setting"
        assert name in worker, f"the worker service does not get {name}"
        assert name in api, f"the api service does not get {name}"
        assert worker[name] == api[name], f"worker and api disagree on {name}"
    assert "TICKETFLOW_PAYMENT_URL" in worker, "the worker (which pays) does not get the adapter"
    policy = str(worker["TICKETFLOW_CONFIG"]).split(":-", 1)[-1].rstrip("}")
    assert policy.startswith("/etc/ticketflow/"), policy
    relative = policy.removeprefix("/etc/ticketflow/")
    assert (ROOT / "config" / relative).is_file(), f"{policy} is not under config/"
    assert list((ROOT / "config" / "packs").glob("*/policy.yaml")), "no packs for the image"
