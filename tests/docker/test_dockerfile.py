"""docker/Dockerfile, read (Docker cannot run here): its base image matches the lock and the project's Python,
every COPY/ADD source exists in the build context (the repository root) and passes its ignore file, and the
folders it sets for Airflow and onestop are the ones it fills."""

from __future__ import annotations

import glob
import re
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from tests.docker.deployment import (
    DOCKER,
    DOCKERIGNORE,
    ROOT,
    Instruction,
    bind_mount_sources,
    copy_sources,
    dockerfile_instructions,
    dockerignore_rules,
    env_instructions,
    ignored,
    locked_version,
    pyproject,
    wheelhouse_default,
)

BASE = re.compile(r"^apache/airflow:(?P<airflow>\d+\.\d+\.\d+)-python(?P<python>\d+\.\d+)$")


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    return dockerfile_instructions()


@pytest.fixture(scope="module")
def copies(instructions: list[Instruction]) -> dict[str, list[str]]:
    """destination -> sources of every COPY/ADD."""
    found = {}
    for instruction in instructions:
        if instruction.keyword in ("COPY", "ADD"):
            sources, dest, flags = copy_sources(instruction)
            assert "from" not in flags, "a single-stage build: every source comes from the context"
            found[dest] = sources
    return found


def base_image(instructions: list[Instruction]) -> re.Match:
    froms = [i for i in instructions if i.keyword == "FROM"]
    assert len(froms) == 1, "one stage"
    # The base may be a build argument (make test-images passes a local stand-in); production is its default.
    defaults = dict(
        i.args.partition("=")[::2] for i in instructions if i.keyword == "ARG" and i.line < froms[0].line
    )
    base = re.sub(r"^\$\{(\w+)\}$", lambda m: defaults.get(m[1], m[0]), froms[0].args)
    match = BASE.match(base)
    assert match, f"FROM {froms[0].args} ({base}): not apache/airflow:<version>-python<X.Y>"
    return match


def test_base_image_is_the_locked_airflow_on_the_projects_python(instructions: list[Instruction]) -> None:
    base = base_image(instructions)
    assert base["airflow"] == locked_version("apache-airflow")
    pins = [Requirement(d) for d in pyproject()["project"]["dependencies"]]
    assert any(r.name == "apache-airflow" and str(r.specifier) == f"=={base['airflow']}" for r in pins)
    python = base["python"]
    assert python in SpecifierSet(pyproject()["project"]["requires-python"])
    assert python == "{}.{}".format(*sys.version_info[:2]), "the Python the project's venv (and tests) run"
    assert python == wheelhouse_default("python_version"), "the wheelhouse is built for the image's Python"


def test_the_build_checks_the_installed_airflow_version(instructions: list[Instruction]) -> None:
    runs = " ".join(i.args for i in instructions if i.keyword == "RUN")
    assert f"== '{locked_version('apache-airflow')}'" in runs


def test_every_copy_source_exists_in_the_context_and_passes_the_ignore_file(
    copies: dict[str, list[str]],
) -> None:
    rules = dockerignore_rules()
    for dest, sources in copies.items():
        for source in sources:
            matches = glob.glob(source, root_dir=ROOT)
            assert matches, f"COPY {source} {dest}: nothing in the repository matches"
            for match in matches:
                files = (
                    [p for p in (ROOT / match).rglob("*") if p.is_file()]
                    if (ROOT / match).is_dir()
                    else [ROOT / match]
                )
                sent = [f for f in files if not ignored(f.relative_to(ROOT).as_posix(), rules)]
                assert sent, f"COPY {source}: {DOCKERIGNORE.name} leaves all of it out of the context"
                if (ROOT / match).is_file():
                    assert sent == files, f"COPY {source}: {DOCKERIGNORE.name} leaves {match} out"


def test_the_wheelhouse_mount_is_what_the_wheelhouse_script_writes(instructions: list[Instruction]) -> None:
    """The one context path the tree does not hold: `make wheelhouse` builds it (docker/wheelhouse.sh)."""
    mounts = [s for i in instructions if i.keyword == "RUN" for s in bind_mount_sources(i)]
    default_out = wheelhouse_default("out").replace("$root/", "")
    assert mounts == [default_out]
    assert not ignored(f"{default_out}/requirements.txt", dockerignore_rules())
    assert not ignored(f"{default_out}/onestop_esb-0.1.0-py3-none-any.whl", dockerignore_rules())
    installs = [i.args for i in instructions if i.keyword == "RUN" and "pip install" in i.args]
    assert installs and all("--no-index" in a for a in installs), "offline: never an index"
    assert (
        "--require-hashes" in installs[0] and f"{default_out.split('/')[-1]}/requirements.txt" in installs[0]
    )


def test_folders_set_for_airflow_are_the_ones_filled(
    instructions: list[Instruction], copies: dict[str, list[str]]
) -> None:
    env = env_instructions(instructions)
    home = env["ONESTOP_HOME"]
    by_source = {tuple(sources): dest.rstrip("/") for dest, sources in copies.items()}
    assert by_source[("config/",)] == f"{home}/config"
    assert by_source[("dags/",)] == env["AIRFLOW__CORE__DAGS_FOLDER"] == f"{home}/dags"
    assert by_source[("plugins/",)] == env["AIRFLOW__CORE__PLUGINS_FOLDER"] == f"{home}/plugins"
    assert by_source[("mappings/*.yaml",)] == env["ONESTOP_MAPPINGS_DIR"]
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["ONESTOP_VAR"].startswith("/opt/airflow/"), "writable by the airflow user, a volume in compose"


def test_the_context_leaves_out_the_venv_databases_and_git() -> None:
    rules = dockerignore_rules()
    for path in (".venv/bin/python", "var/pg/data/PG_VERSION", ".git/HEAD", "tests/conftest.py",
                 "dags/__pycache__/x.pyc", "dist/other.whl", "docker/.env", "bench/run.py"):  # fmt: skip
        assert ignored(path, rules), path
    for path in ("dags/onestop_sources.py", "config/sources.yaml", "mappings/igate.yaml"):
        assert not ignored(path, rules), path


def test_a_root_dockerignore_if_any_says_the_same() -> None:
    root_ignore = ROOT / ".dockerignore"
    if root_ignore.exists():  # for builders that do not read docker/Dockerfile.dockerignore
        assert root_ignore.read_text() == DOCKERIGNORE.read_text()


# --- the readers themselves must be able to say no ------------------------------------------------------------
def test_dockerignore_rules_follow_dockers_last_match_wins() -> None:
    rules = dockerignore_rules("*\n!dags/\n**/__pycache__\n!keep/**/*.txt\n")
    assert ignored("README.md", rules) and ignored("onestop/cli.py", rules)
    assert not ignored("dags/a.py", rules) and ignored("dags/__pycache__/a.pyc", rules)
    assert not ignored("keep/x/y/z.txt", rules) and ignored("keep/x/y/z.py", rules)


def test_instructions_join_continuations_and_skip_comments() -> None:
    text = (
        "# c\nFROM apache/airflow:9.9.9-python3.99\nRUN a \\\n  # inside\n  && b\nCOPY --chown=x:0 a b /d/\n"
    )
    found = dockerfile_instructions(text)
    assert [(i.keyword, i.args) for i in found][:2] == [
        ("FROM", "apache/airflow:9.9.9-python3.99"),
        ("RUN", "a    && b"),
    ]
    assert copy_sources(found[2]) == (["a", "b"], "/d/", {"chown": "x:0"})
    with pytest.raises(AssertionError):
        test_base_image_is_the_locked_airflow_on_the_projects_python(found)


def test_simulator_launcher_and_init_script_are_executable_in_the_image(copies: dict[str, list[str]]) -> None:
    assert copies["/opt/onestop/bin/onestop-init"] == ["docker/onestop-init.sh"]
    assert copies["/opt/onestop/bin/onestop-simulator"] == ["docker/onestop-simulator.py"]
    assert Path(DOCKER / "onestop-init.sh").read_text().startswith("#!/usr/bin/env bash\n")
