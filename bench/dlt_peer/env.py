"""The dlt peer's own virtual environment: dlt never goes into the project's .venv (its pins would fight ours).

Runs with the project's Python, standard library only:

    from bench.dlt_peer.env import ensure_venv
    python = ensure_venv(ROOT / "var" / "bench")   # -> ROOT/var/bench/dlt-venv/bin/python

`ensure_venv` (re)creates `root/dlt-venv` with `python -m venv --clear` and installs requirements.txt with pip
(a subprocess, through the index pip is configured with) when the venv is missing or stale: its stamp file holds
a hash of requirements.txt and of the creating Python's version, and a venv whose stamp differs is rebuilt from
scratch. Quiet; one line on stdout when it installs. Concurrent callers wait for each other on a lock file.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements.txt"
LOAD_SCRIPT = HERE / "load_igate.py"
VENV_NAME = "dlt-venv"
STAMP_NAME = ".onestop-requirements.sha256"


class DltVenvError(RuntimeError):
    """The dlt venv could not be created or installed (no package index, say); the message carries pip's tail."""


def requirements_hash(requirements: Path = REQUIREMENTS) -> str:
    """What a venv is stamped with: the requirements' bytes and the Python that builds the venv."""
    digest = hashlib.sha256(requirements.read_bytes())
    digest.update(f"\0{sys.implementation.name}-{sys.version_info[0]}.{sys.version_info[1]}".encode())
    return digest.hexdigest()


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def is_current(venv: Path, requirements: Path = REQUIREMENTS) -> bool:
    stamp = venv / STAMP_NAME
    try:
        return venv_python(venv).exists() and stamp.read_text().strip() == requirements_hash(requirements)
    except FileNotFoundError:
        return False


def _run(cmd: list[str], what: str, timeout: float) -> None:
    try:
        done = subprocess.run(
            cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise DltVenvError(f"{what} took longer than {timeout:g} s: {' '.join(cmd)}") from exc
    if done.returncode != 0:
        tail = (done.stdout + done.stderr)[-4000:]
        raise DltVenvError(f"{what} failed (exit {done.returncode}): {' '.join(cmd)}\n{tail}")


def ensure_venv(root: Path, requirements: Path = REQUIREMENTS, timeout: float = 900) -> Path:
    """The dlt venv's python under `root` (`root/dlt-venv`), created and installed first when missing or stale.

    Raises DltVenvError when venv creation or pip fails (e.g. no package index reachable).
    """
    root = Path(root).absolute()
    venv = root / VENV_NAME
    if is_current(venv, requirements):
        return venv_python(venv)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f"{VENV_NAME}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be installing it right now
        if is_current(venv, requirements):
            return venv_python(venv)
        print(f"bench: installing the dlt peer's venv in {venv} from {requirements.name}", flush=True)
        started = time.monotonic()
        stamp = venv / STAMP_NAME
        stamp.unlink(missing_ok=True)  # a half-built venv must never look current
        _run([sys.executable, "-m", "venv", "--clear", str(venv)], "creating the dlt venv", timeout)
        python = venv_python(venv)
        left = max(60.0, timeout - (time.monotonic() - started))
        _run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
                str(requirements),
            ],
            "installing the dlt peer's requirements",
            left,
        )
        stamp.write_text(requirements_hash(requirements) + "\n")
        return python


if __name__ == "__main__":  # python bench/dlt_peer/env.py [ROOT]: prints the venv's python
    print(ensure_venv(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[1] / "var" / "bench"))
