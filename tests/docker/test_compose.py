"""docker/docker-compose.yaml: valid against the Compose Specification's JSON schema (tests/docker/README.md
says where the vendored schema comes from), and right where it matters — shared secrets, workers and queues,
health checks, a staging profile of simulators only, and no secret in the repository."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest

from onestop import registry
from onestop.simulators.demo import PORTAL_LOGIN, SIMULATORS
from tests.docker.deployment import (
    COMPOSE_FILE,
    DOCKER,
    ENV_EXAMPLE,
    POSTGRES_INIT,
    ROOT,
    SECRET_NAME,
    STAGING_CONNECTIONS,
    command_of,
    env_of,
    healthcheck_text,
    interpolate,
    load_compose,
    option,
    pyproject,
    read_env_file,
    references,
    registry_queues,
    url_password,
    worker_queues,
    workers,
)

SCHEMA_FILE = Path(__file__).with_name("compose_spec.json")
SCHEMA_SHA256 = "0dc04bd346dcfee1b1419628fff79937bbf076925f298f272a2b490e2b112bac"  # docker-compose 1.29.2's
# What every Airflow component must share (AIRFLOW.md "Distributed"), plus the unified database.
SHARED = (
    "AIRFLOW__CORE__EXECUTOR",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__CELERY__BROKER_URL",
    "AIRFLOW__CELERY__RESULT_BACKEND",
    "AIRFLOW__CORE__FERNET_KEY",
    "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__API__SECRET_KEY",
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
    "AIRFLOW__API__BASE_URL",
    "ONESTOP_DB_URL",
)
AIRFLOW_COMPONENTS = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
}


def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_FILE.read_text())
    return jsonschema.Draft201909Validator(schema)


def schema_errors(document: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator().iter_errors(document)]


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_compose()


@pytest.fixture(scope="module")
def services(compose: dict) -> dict[str, dict]:
    return compose["services"]


@pytest.fixture(scope="module")
def filled() -> dict[str, dict]:
    """The services as compose runs them with docker/.env.example, its secrets given dummy values."""
    env = {k: v or "dummy" for k, v in read_env_file(ENV_EXAMPLE).items()}
    return interpolate(load_compose(), env)["services"]


def staging(service: dict) -> bool:
    return "staging" in (service.get("profiles") or [])


def airflow_services(services: dict[str, dict]) -> dict[str, dict]:
    """The services that run Airflow: api-server, scheduler, dag-processor, triggerer, workers, init."""
    return {n: s for n, s in services.items() if n.startswith("airflow-") and not staging(s)}


# --- the schema ----------------------------------------------------------------------------------------------
def test_vendored_schema_is_the_published_one() -> None:
    assert hashlib.sha256(SCHEMA_FILE.read_bytes()).hexdigest() == SCHEMA_SHA256


def test_compose_file_validates_against_the_compose_specification(compose: dict) -> None:
    assert schema_errors(compose) == []


def test_interpolated_with_the_example_env_it_still_validates() -> None:
    """What compose validates after filling in ${…} from docker/.env (secrets given dummy values)."""
    env = {k: v or "dummy" for k, v in read_env_file(ENV_EXAMPLE).items()}
    document = interpolate(load_compose(), env)
    assert schema_errors(document) == []
    assert document["services"]["airflow-apiserver"]["ports"] == ["8080:8080"]


@pytest.mark.parametrize(
    "breakage",
    [
        lambda c: c["services"]["postgres"].update(restart_policy="always"),  # not a service key
        lambda c: c["services"]["redis"]["environment"].update(FLAG=True),  # env values are strings
        lambda c: c["services"]["airflow-scheduler"]["healthcheck"].update(retry=3),  # misspelt
        lambda c: c["services"]["airflow-apiserver"].update(depends_on={"postgres": {"condition": "up"}}),
        lambda c: c.update(name="onestop"),  # top-level `name` is newer than this schema
    ],
)
def test_the_schema_rejects_a_broken_file(compose: dict, breakage) -> None:
    broken = copy.deepcopy(compose)
    breakage(broken)
    assert schema_errors(broken)


# --- Airflow components and their shared settings ---------------------------------------------------------
def test_every_airflow_component_is_there(services: dict[str, dict]) -> None:
    for name, command in AIRFLOW_COMPONENTS.items():
        assert command_of(services[name])[:1] == [command], name
    assert {"postgres", "redis", "airflow-init"} <= services.keys()
    assert len(workers(services)) >= 2


def test_airflow_services_share_the_same_secrets_and_settings(services: dict[str, dict]) -> None:
    airflow = airflow_services(services)
    reference = env_of(airflow["airflow-scheduler"])
    assert all(reference.get(key) for key in SHARED), [k for k in SHARED if not reference.get(k)]
    for name, service in airflow.items():
        env = env_of(service)
        assert {k: env.get(k) for k in SHARED} == {k: reference[k] for k in SHARED}, name
        assert service.get("env_file") == airflow["airflow-scheduler"].get("env_file"), name
        assert service.get("image") == airflow["airflow-scheduler"].get("image"), name
    assert reference["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"


def test_execution_api_url_names_the_api_server(services: dict[str, dict]) -> None:
    url = urlsplit(env_of(services["airflow-scheduler"])["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert url.hostname == "airflow-apiserver" and url.path == "/execution/"
    published = [p.rsplit(":", 1)[1] for p in services["airflow-apiserver"]["ports"]]
    assert str(url.port) in published


def test_metadata_and_unified_databases_are_separate_databases_of_the_init_script(
    services: dict[str, dict], filled: dict[str, dict]
) -> None:
    env = env_of(filled["airflow-scheduler"])
    metadata = urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    unified = urlsplit(env["ONESTOP_DB_URL"])
    assert metadata.hostname == unified.hostname == "postgres"
    assert metadata.path != unified.path
    assert unified.scheme == "postgresql"  # libpq form: psycopg reads it as is
    # docker/postgres-init creates one database and one role per name; it is mounted into postgres.
    script = POSTGRES_INIT.read_text()
    defaults = dict(re.findall(r"(AIRFLOW_DB_NAME|ONESTOP_DB_NAME):-(\w+)", script))
    assert metadata.path.strip("/") == metadata.username == defaults["AIRFLOW_DB_NAME"]
    assert unified.path.strip("/") == unified.username == defaults["ONESTOP_DB_NAME"]
    mounts = services["postgres"]["volumes"]
    assert any(m.startswith("./postgres-init:/docker-entrypoint-initdb.d") for m in mounts)
    assert (DOCKER / "postgres-init").is_dir()


def test_every_service_has_a_health_check_or_is_a_one_shot(services: dict[str, dict]) -> None:
    one_shots = {
        dep
        for service in services.values()
        for dep, cond in (service.get("depends_on") or {}).items()
        if isinstance(cond, dict) and cond.get("condition") == "service_completed_successfully"
    }
    assert one_shots == {"airflow-init"}
    assert services["airflow-init"]["restart"] == "no"
    for name, service in services.items():
        if name not in one_shots:
            assert healthcheck_text(service).strip(), f"{name} has no health check"
            assert not service["healthcheck"].get("disable"), name


def test_airflow_components_wait_for_healthy_databases_and_the_init(services: dict[str, dict]) -> None:
    for name, service in airflow_services(services).items():
        depends = service["depends_on"]
        assert depends["postgres"]["condition"] == depends["redis"]["condition"] == "service_healthy", name
        if name != "airflow-init":
            assert depends["airflow-init"]["condition"] == "service_completed_successfully", name


def test_init_runs_the_image_script_for_both_databases(services: dict[str, dict]) -> None:
    from tests.docker.deployment import DOCKERFILE, copy_sources, dockerfile_instructions

    script = command_of(services["airflow-init"])
    copied = {
        dest: sources
        for i in dockerfile_instructions()
        if i.keyword == "COPY"
        for sources, dest, _ in [copy_sources(i)]
    }
    assert script[0] == "bash" and copied[script[1]] == ["docker/onestop-init.sh"], DOCKERFILE
    text = (DOCKER / "onestop-init.sh").read_text()
    for step in ("airflow db migrate", "onestop db upgrade", "airflow pools import"):
        assert re.search(rf"^{step}", text, re.M), step


# --- workers and queues ------------------------------------------------------------------------------------------
def test_at_least_two_celery_workers_with_distinct_names_and_queues(services: dict[str, dict]) -> None:
    found = workers(services)
    assert len(found) >= 2
    names = {n: option(command_of(s), "--celery-hostname", "-H") for n, s in found.items()}
    assert all(names.values()) and len(set(names.values())) == len(names), names
    assert all(h.endswith("@%h") for h in names.values()), "one name per container: scaling keeps them unique"
    queue_sets = [frozenset(worker_queues(s)) for s in found.values()]
    assert len(set(queue_sets)) == len(queue_sets), queue_sets
    for name, service in found.items():  # the health check pings this worker, by its own name
        assert names[name].replace("%h", "$${HOSTNAME}") in healthcheck_text(service), name
        assert env_of(service).get("DUMB_INIT_SETSID") == "0", f"{name}: Celery's warm shutdown"


def test_every_source_kind_has_a_queue_and_every_queue_a_worker(services: dict[str, dict]) -> None:
    served = set().union(*(worker_queues(s) for s in workers(services).values()))
    assert served == registry_queues()
    default = env_of(services["airflow-scheduler"])["AIRFLOW__OPERATORS__DEFAULT_QUEUE"]
    assert all(default in worker_queues(s) for s in workers(services).values()), "default: every worker"


# --- the staging profile -----------------------------------------------------------------------------------------
def test_staging_profile_holds_only_simulators(services: dict[str, dict]) -> None:
    launcher = "/opt/onestop/bin/onestop-simulator"
    profiled = {n: s for n, s in services.items() if s.get("profiles")}
    assert profiled and all(s["profiles"] == ["staging"] for s in profiled.values())
    for name, service in profiled.items():
        assert service["entrypoint"] == ["python", launcher], name
        assert command_of(service)[0] in {module for module, _ in SIMULATORS.values()} | {"portal"}, name
        assert option(command_of(service), "--port") == "8000", name
    for name, service in services.items():
        if name not in profiled:
            assert "onestop-simulator" not in json.dumps(service), f"{name} runs a simulator outside staging"


def test_staging_connections_point_every_source_at_its_simulator(services: dict[str, dict]) -> None:
    reg = registry.load()
    connections = {k: json.loads(v) for k, v in read_env_file(STAGING_CONNECTIONS).items()}
    expected = {f"AIRFLOW_CONN_{c.upper()}" for c in [reg.portal.conn_id, *(s.conn_id for s in reg.sources)]}
    assert set(connections) == expected

    def simulator(conn_id: str) -> list[str]:
        url = urlsplit(connections[f"AIRFLOW_CONN_{conn_id.upper()}"]["host"])
        service = services[url.hostname]
        assert staging(service) and str(url.port) == option(command_of(service), "--port")
        return command_of(service)

    assert simulator(reg.portal.conn_id)[0] == "portal"
    portal = connections[f"AIRFLOW_CONN_{reg.portal.conn_id.upper()}"]
    assert {k: portal[k] for k in PORTAL_LOGIN} == PORTAL_LOGIN
    seeds = set()
    for source in reg.sources:
        module, login = SIMULATORS[source.dialect]
        argv = simulator(source.conn_id)
        assert argv[0] == module, source.name
        assert option(argv, "--district") == source.district_code, source.name
        conn = connections[f"AIRFLOW_CONN_{source.conn_id.upper()}"]
        assert {k: conn.get(k) for k in login} == login, source.name
        seeds.add(option(argv, "--seed"))
    assert len(seeds) == len(reg.sources), "each simulated district has its own dossiers"


def test_staging_connections_reach_airflow_only_through_the_connections_file(
    services: dict[str, dict],
) -> None:
    env_file = airflow_services(services)["airflow-scheduler"]["env_file"]
    assert env_file == ["${ONESTOP_CONNECTIONS_FILE:-connections.env}"]
    assert read_env_file(ENV_EXAMPLE)["ONESTOP_CONNECTIONS_FILE"] == "connections.env"
    assert STAGING_CONNECTIONS.relative_to(DOCKER).as_posix() in COMPOSE_FILE.read_text()


# --- secrets ------------------------------------------------------------------------------------------------------
def test_secrets_are_only_required_interpolations(services: dict[str, dict]) -> None:
    """A secret is `${NAME:?…}`: no literal, no default; a URL's password likewise."""
    for name, service in services.items():
        if staging(service):
            continue
        for key, value in env_of(service).items():
            refs = references(value)
            if SECRET_NAME.search(key):
                assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", value), f"{name}: {key} is not a required ${{…:?}}"
            password = url_password(value)
            if password is not None:
                assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", password), f"{name}: {key} has a literal password"
            for ref in refs:
                if SECRET_NAME.search(ref.name):
                    assert ref.required and not ref.has_default, f"{name}: {key} gives {ref.name} a default"


def test_every_variable_is_in_the_example_env_file_and_its_secrets_are_empty() -> None:
    example = read_env_file(ENV_EXAMPLE)
    used = {ref.name for ref in references(COMPOSE_FILE.read_text())}
    assert used <= example.keys(), used - example.keys()
    assert example.keys() <= used, example.keys() - used
    for ref in references(COMPOSE_FILE.read_text()):
        if ref.has_default:
            assert example[ref.name] == ref.argument, f"{ref.name}: .env.example shows the default"
    secrets = {k for k in example if SECRET_NAME.search(k)}
    assert secrets >= {"AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET", "POSTGRES_PASSWORD", "REDIS_PASSWORD"}
    assert {k: example[k] for k in secrets} == dict.fromkeys(secrets, ""), "placeholders only"


def test_no_env_file_with_secrets_is_committed() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "--", "docker"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert "docker/.env" not in tracked and "docker/connections.env" not in tracked
    assert {"docker/.env.example", "docker/connections.env.example"} <= set(tracked) or not tracked
    ignored = subprocess.run(
        ["git", "check-ignore", "docker/.env", "docker/connections.env", "docker/staging/connections.env"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert ignored == ["docker/.env", "docker/connections.env"]


def test_no_literal_secret_in_the_connections_template() -> None:
    for line in (DOCKER / "connections.env.example").read_text().splitlines():
        assert not line.strip() or line.startswith("#"), f"connections.env.example sets a value: {line}"


# --- image, build, volumes --------------------------------------------------------------------------------------------
def test_image_tag_is_the_project_version_and_the_build_context_the_repository(
    services: dict[str, dict],
) -> None:
    version = pyproject()["project"]["version"]
    for name, service in services.items():
        if name not in ("postgres", "redis"):
            assert service["image"] == f"${{ONESTOP_IMAGE:-onestop-esb:{version}}}", name
    build = services["airflow-scheduler"]["build"]
    assert (COMPOSE_FILE.parent / build["context"]).resolve() == ROOT
    assert (ROOT / build["dockerfile"]).is_file()


def test_named_volumes_are_declared_and_used(compose: dict) -> None:
    used = set()
    for service in compose["services"].values():
        for mount in service.get("volumes") or []:
            source = mount.split(":", 1)[0]
            if not source.startswith((".", "/")):
                used.add(source)
            else:
                assert (COMPOSE_FILE.parent / source).exists(), source
    assert used == set(compose["volumes"])


def test_onestop_state_is_a_shared_volume_on_every_airflow_service(services: dict[str, dict]) -> None:
    from tests.docker.deployment import dockerfile_instructions, env_instructions, load_helm_values

    var = env_instructions(dockerfile_instructions())["ONESTOP_VAR"]
    for name, service in airflow_services(services).items():
        assert f"onestop-state:{var}" in service["volumes"], name
    assert {"name": "onestop-state", "mountPath": var} in load_helm_values()["volumeMounts"]
