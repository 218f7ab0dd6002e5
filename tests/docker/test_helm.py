"""docker/helm/values.yaml for the official Airflow chart: it parses, runs the same image, executor and queues as
the compose file, bakes DAGs into the image, and names its secrets instead of holding them."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.docker.deployment import (
    command_of,
    dockerfile_instructions,
    env_instructions,
    load_compose,
    load_helm_values,
    locked_version,
    registry_queues,
    worker_queues,
    workers,
)


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    return load_helm_values()


@pytest.fixture(scope="module")
def compose_services() -> dict[str, dict]:
    return load_compose()["services"]


def helm_queues(values: dict[str, Any]) -> list[set[str]]:
    """The queues of each Celery worker deployment: the default one (Airflow's default queue), then the sets."""
    workers_ = values["workers"]
    deployments = (
        [{values["config"]["operators"]["default_queue"]}] if workers_.get("enableDefault", True) else []
    )
    for worker_set in workers_["celery"]["sets"]:
        deployments.append(set(worker_set["queue"].split(",")))
    return deployments


def test_same_image_as_compose(values: dict[str, Any], compose_services: dict[str, dict]) -> None:
    image = compose_services["airflow-scheduler"]["image"]  # ${ONESTOP_IMAGE:-onestop-esb:<version>}
    default = image.split(":-", 1)[1].rstrip("}")
    repository, tag = default.rsplit(":", 1)
    assert values["images"]["airflow"]["repository"] == values["defaultAirflowRepository"] == repository
    assert values["images"]["airflow"]["tag"] == values["defaultAirflowTag"] == tag
    assert values["airflowVersion"] == locked_version("apache-airflow")
    assert values["images"]["useDefaultImageForMigration"] is False


def test_celery_executor_with_the_compose_queues(
    values: dict[str, Any], compose_services: dict[str, dict]
) -> None:
    assert values["executor"] == "CeleryExecutor"
    deployments = helm_queues(values)
    served = set().union(*deployments)
    compose = set().union(*(worker_queues(s) for s in workers(compose_services).values()))
    assert served == compose == registry_queues()
    assert len(deployments) >= 2
    names = [s["name"] for s in values["workers"]["celery"]["sets"]]
    assert len(set(names)) == len(names)
    assert values["workers"]["replicas"] == 2
    assert all(
        s.get("replicas", values["workers"]["replicas"]) >= 1 for s in values["workers"]["celery"]["sets"]
    )


def test_dags_and_plugins_are_baked_into_the_image(values: dict[str, Any]) -> None:
    assert values["dags"]["persistence"]["enabled"] is False
    assert values["dags"]["gitSync"]["enabled"] is False
    env = env_instructions(dockerfile_instructions())
    core = values["config"]["core"]
    assert core["dags_folder"] == env["AIRFLOW__CORE__DAGS_FOLDER"]
    assert core["plugins_folder"] == env["AIRFLOW__CORE__PLUGINS_FOLDER"]


def test_databases_external_broker_in_the_chart(values: dict[str, Any]) -> None:
    assert values["postgresql"]["enabled"] is False
    assert values["data"]["metadataSecretName"]
    assert values["redis"]["enabled"] is True
    assert values["redis"]["passwordSecretName"] and values["data"]["brokerUrlSecretName"]


def test_unified_database_url_comes_from_a_secret(values: dict[str, Any]) -> None:
    extra = yaml.safe_load(values["extraEnv"])
    [entry] = [e for e in extra if e["name"] == "ONESTOP_DB_URL"]
    assert set(entry) == {"name", "valueFrom"} and entry["valueFrom"]["secretKeyRef"]["name"]


def test_secrets_are_named_never_given(values: dict[str, Any]) -> None:
    for key in ("fernetKeySecretName", "jwtSecretName", "apiSecretKeySecretName"):
        assert values[key], key
    leaks = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                lowered = k.lower()
                secretish = any(
                    w in lowered for w in ("password", "secret", "fernetkey", "token", "connection")
                )
                named = lowered.endswith("secretname") or lowered.endswith("secretkeyref")
                if secretish and not named and v not in (None, "", {}, []):
                    leaks.append(f"{path}{k}")
                walk(v, f"{path}{k}.")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}{i}.")

    walk(values, "")
    assert leaks == [], f"values that look like secrets: {leaks}"


def test_migration_job_runs_the_images_init_script(values: dict[str, Any]) -> None:
    args = values["migrateDatabaseJob"]["args"]
    script = next(i for i in dockerfile_instructions() if "onestop-init.sh" in i.args).args.split()[-1]
    assert script in " ".join(args)
    assert values["migrateDatabaseJob"]["enabled"] is True
    compose_init = command_of(load_compose()["services"]["airflow-init"])
    assert compose_init[-1] == script, "compose and Helm prepare the databases the same way"
