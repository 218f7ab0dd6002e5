#!/usr/bin/env bash
# Offline install: every wheel onestop-esb needs, exactly as pinned in uv.lock, in one folder.
#
#   docker/wheelhouse.sh [OUT]          (default OUT: dist/wheelhouse; `make wheelhouse` runs this)
#
# OUT then holds requirements.txt (the lock's runtime packages, with their PyPI hashes), one wheel per
# package any release of the target Python may need (download.txt lists them), and
# onestop_esb-<version>-py3-none-any.whl. Install it on a machine without internet:
#
#   pip install --no-index --find-links OUT --no-deps --require-hashes -r OUT/requirements.txt
#   pip install --no-index --find-links OUT --no-deps onestop-esb
#
# (or simply `pip install --no-index --find-links OUT onestop-esb`: the folder holds one version of each
# package, so the resolver can only pick the locked ones). docker/Dockerfile installs from it the same way.
#
# Wheels target CPython $WHEELHOUSE_PYTHON_VERSION (default 3.11, the image's Python) on this machine's
# platform (Linux x86_64, glibc >= 2.36 like the Debian bookworm of the apache/airflow images); for another,
# pass pip platform tags, e.g. WHEELHOUSE_PLATFORMS="manylinux_2_36_aarch64 manylinux2014_aarch64".
# The download is skipped when OUT/.lock-stamp matches uv.lock and the target (the project's own wheel is
# rebuilt every time: it is seconds).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/dist/wheelhouse}"
python_version="${WHEELHOUSE_PYTHON_VERSION:-3.11}"
platforms="${WHEELHOUSE_PLATFORMS:-}"
python="${PYTHON:-$root/.venv/bin/python}"
uv="${UV:-$root/.venv/bin/uv}"
started=$SECONDS

for tool in "$python" "$uv"; do
  [[ -x "$tool" ]] || { echo "wheelhouse: $tool not found (run \`make venv\` first)" >&2; exit 2; }
done
mkdir -p "$out"
out="$(cd "$out" && pwd)"

stamp="$(
  { sha256sum "$root/uv.lock" | cut -d' ' -f1; echo "python=$python_version.x platforms=$platforms"; } \
    | sha256sum | cut -d' ' -f1
)"

if [[ -f "$out/.lock-stamp" && "$(cat "$out/.lock-stamp")" == "$stamp" && -f "$out/requirements.txt" ]]; then
  echo "wheelhouse: dependency wheels up to date with uv.lock ($out)"
else
  echo "wheelhouse: exporting uv.lock and downloading its wheels into $out"
  # No stale version may stay beside a new one.
  rm -f "$out"/*.whl "$out/requirements.txt" "$out/download.txt" "$out/.lock-stamp"
  (cd "$root" && "$uv" export --frozen --no-dev --no-emit-project --format requirements-txt --quiet \
    -o "$out/requirements.txt")
  # pip download judges environment markers by the Python running it, not by --python-version: the lines to
  # download are judged here for every CPython $python_version.x on Linux (async-timeout, say, is needed below
  # 3.11.3 only), markers dropped; requirements.txt keeps them for the install to judge on the real machine.
  "$python" - "$out/requirements.txt" "$python_version" > "$out/download.txt" <<'PY'
import sys
from packaging.markers import default_environment
from packaging.requirements import Requirement

text, version = open(sys.argv[1]).read().replace("\\\n", " "), sys.argv[2]
linux = {"implementation_name": "cpython", "platform_python_implementation": "CPython", "sys_platform": "linux",
         "platform_system": "Linux", "os_name": "posix"}
environments = [default_environment() | linux | {"python_version": version, "python_full_version": f"{version}.{patch}"}
                for patch in (0, 99)]  # the first release of the minor version and any later one
for line in text.splitlines():
    spec, *hashes = line.split(" --hash")
    spec = spec.split("#")[0].strip()
    if not spec:
        continue
    req = Requirement(spec)
    if req.marker is None or any(req.marker.evaluate(env) for env in environments):
        req.marker = None
        print(" --hash".join([str(req), *hashes]))
PY
  platform_args=()
  for p in $platforms; do platform_args+=(--platform "$p"); done
  # Binary wheels only (every package in the lock publishes one), checked against the lock's hashes. The
  # export is the lock's whole closure, so --no-deps: no resolution (in hash mode pip would also refuse an
  # extra such as celery[redis] that the lock spells as plain celery==…).
  PIP_DISABLE_PIP_VERSION_CHECK=1 "$python" -m pip download --quiet --no-deps \
    --only-binary=:all: --implementation cp --python-version "$python_version" "${platform_args[@]}" \
    --require-hashes -r "$out/download.txt" -d "$out"
  echo "$stamp" > "$out/.lock-stamp"
fi

# The project's own wheel, built from a copy of the sources (a build in the tree would leave build/ and
# *.egg-info behind in a checkout other people work in).
src="$(mktemp -d)"
trap 'rm -rf "$src"' EXIT
"$python" - "$root" "$src" <<'PY'
import fnmatch, shutil, sys, tomllib
from pathlib import Path

root, dest = Path(sys.argv[1]), Path(sys.argv[2])
project = tomllib.loads((root / "pyproject.toml").read_text())
include = project["tool"]["setuptools"]["packages"]["find"]["include"]
for name in ("pyproject.toml", project["project"].get("readme", "README.md")):
    shutil.copy2(root / name, dest / name)
for path in sorted(root.iterdir()):
    if path.is_dir() and (path / "__init__.py").exists() and any(fnmatch.fnmatch(path.name, p) for p in include):
        shutil.copytree(path, dest / path.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
PY
rm -f "$out"/onestop_esb-*.whl
"$uv" build --quiet --wheel --out-dir "$out" "$src"

wheels=$(find "$out" -maxdepth 1 -name '*.whl' | wc -l)
echo "wheelhouse: $wheels wheels, $(du -sh "$out" | cut -f1) in $out ($((SECONDS - started)) s)"
