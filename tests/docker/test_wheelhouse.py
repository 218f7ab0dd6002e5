"""Offline install (slower tier, `pytest -m wheelhouse`): the wheelhouse that `make wheelhouse` builds from uv.lock
installs onestop-esb into a fresh virtual environment with no index and no network, at exactly the locked
versions, and the result runs.

The wheelhouse is built into WHEELHOUSE_DIR (default dist/wheelhouse, where `make wheelhouse` puts it); a folder
whose stamp matches uv.lock is reused (the script downloads only when the lock changed; it rebuilds our wheel)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.docker.deployment import ROOT, WHEELHOUSE_SCRIPT, pyproject, wheelhouse_default

pytestmark = [
    pytest.mark.wheelhouse,
    pytest.mark.timeout(1800),
]  # a cold download takes ~30 s, a slow link more

DEAD_PROXY = "http://127.0.0.1:9"  # the discard port: any attempt to reach an index fails at once


def offline_env() -> dict[str, str]:
    """No index, no pip configuration (this machine's may name local wheel folders), a dead proxy."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(("PIP_", "UV_", "VIRTUAL_ENV"))}
    env.update({
        "PIP_NO_INDEX": "1",
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "https_proxy": DEAD_PROXY, "http_proxy": DEAD_PROXY, "HTTPS_PROXY": DEAD_PROXY, "HTTP_PROXY": DEAD_PROXY,
        "no_proxy": "", "NO_PROXY": "",
    })  # fmt: skip
    return env


def base_python() -> str:
    """The interpreter the project's venv was made from (a venv's own python would make a nested venv)."""
    candidate = Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    return str(candidate if candidate.exists() else Path(sys.base_prefix) / "bin" / "python3")


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_pins(requirements: Path) -> dict[str, str]:
    """name -> version of the exported lock, for any release of this Python's minor version (the lock pins some
    packages per Python version, e.g. numpy 2.4 below 3.12, 2.5 from 3.12 on, async-timeout below 3.11.3 only:
    their markers decide, for 3.11.0 as for 3.11.99)."""
    pins = {}
    minor = f"{sys.version_info[0]}.{sys.version_info[1]}"
    releases = [{"python_version": minor, "python_full_version": f"{minor}.{patch}"} for patch in (0, 99)]
    text = requirements.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        line = line.split(" --hash")[0].split("#")[0].strip()
        if line:
            req = Requirement(line)
            if req.marker is None or any(req.marker.evaluate(release) for release in releases):
                [spec] = req.specifier
                assert spec.operator == "==", line
                assert normalized(req.name) not in pins, f"{req.name} pinned twice for this Python"
                pins[normalized(req.name)] = spec.version
    return pins


@pytest.fixture(scope="module")
def wheelhouse() -> Path:
    out = Path(os.environ.get("WHEELHOUSE_DIR") or wheelhouse_default("out").replace("$root", str(ROOT)))
    started = time.monotonic()
    result = subprocess.run(
        ["bash", str(WHEELHOUSE_SCRIPT), str(out)], capture_output=True, text=True, timeout=1800
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = result.stdout.strip().splitlines()[-1]
    print(f"\nwheelhouse ready in {time.monotonic() - started:.0f} s: {summary}")
    return out


def test_wheelhouse_holds_one_wheel_per_locked_package(wheelhouse: Path) -> None:
    pins = locked_pins(wheelhouse / "requirements.txt")
    wheels = {}
    for wheel in wheelhouse.glob("*.whl"):
        name, version = wheel.name.split("-")[:2]
        wheels.setdefault(normalized(name), []).append(version)
    assert all(len(v) == 1 for v in wheels.values()), {k: v for k, v in wheels.items() if len(v) > 1}
    assert wheels.pop("onestop-esb") == [pyproject()["project"]["version"]]
    assert {k: v[0] for k, v in wheels.items()} == pins, "one wheel per package of the lock, at its version"
    assert pins["apache-airflow"] == wheels["apache-airflow"][0] == "3.3.2"
    # Needed on the first releases of this minor version only, where pip judges the lock's marker on install.
    if sys.version_info[:2] == (3, 11):
        assert "async-timeout" in wheels


def test_installs_offline_into_a_fresh_venv_and_runs(wheelhouse: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    env = offline_env()
    subprocess.run([base_python(), "-m", "venv", str(venv)], check=True, env=env, timeout=120)
    started = time.monotonic()
    install = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-index", "--find-links",
         str(wheelhouse), "onestop-esb"],
        capture_output=True, text=True, env=env, timeout=1200,
    )  # fmt: skip
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    print(f"\noffline install: {time.monotonic() - started:.0f} s")

    # Exactly the lock: every installed distribution at its locked version (pip's own tools aside).
    frozen = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze", "--exclude-editable"],
        capture_output=True, text=True, env=env, check=True,
    ).stdout  # fmt: skip
    installed = {normalized(n): v for n, v in (line.split("==") for line in frozen.split())}
    pins = locked_pins(wheelhouse / "requirements.txt")
    for tool in ("pip", "setuptools", "wheel"):
        if tool not in pins:
            installed.pop(tool, None)
    assert installed.pop("onestop-esb") == pyproject()["project"]["version"]
    assert installed.keys() <= pins.keys(), f"not in the lock: {installed.keys() - pins.keys()}"
    assert installed == {k: pins[k] for k in installed}, "versions differ from uv.lock"
    check = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "check"], capture_output=True, text=True, env=env
    )
    assert check.returncode == 0, check.stdout

    help_ = subprocess.run(
        [str(venv / "bin" / "onestop"), "--help"], capture_output=True, text=True, env=env, timeout=120
    )
    assert help_.returncode == 0 and "onestop-esb" in help_.stdout, help_.stderr[-2000:]
    imports = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import airflow, onestop.pipeline, onestop.airflow.provider; print(airflow.__version__)"],
        capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert imports.returncode == 0, imports.stderr[-3000:]
    assert imports.stdout.strip().splitlines()[-1] == "3.3.2"


def test_the_dockerfiles_install_step_works_offline(wheelhouse: Path, tmp_path: Path) -> None:
    """docker/Dockerfile's own RUN (hash-checked lock, then our wheel, then the version check), word for word,
    with its bind mount pointed at the wheelhouse and the image's python/pip at a fresh venv."""
    from tests.docker.deployment import bind_mount_sources, dockerfile_instructions

    [run] = [i for i in dockerfile_instructions() if i.keyword == "RUN" and bind_mount_sources(i)]
    mount = re.search(r"--mount=\S*target=([^,\s]+)", run.args)[1]
    script = re.sub(r"^--mount=\S+\s+", "", run.args).replace(mount, str(wheelhouse))
    venv = tmp_path / "venv"
    env = offline_env()
    subprocess.run([base_python(), "-m", "venv", str(venv)], check=True, env=env, timeout=120)
    # `pip` and `python` of the RUN: the venv's.
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env["PATH"]])
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, env=env, timeout=1200
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    check = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "check"], capture_output=True, text=True, env=env
    )
    assert check.returncode == 0, check.stdout
