#!/usr/bin/env bash
# One-shot preparation before the Airflow components start, and after every upgrade of the image:
# compose's `airflow-init` service and the Helm chart's migrate-database job run it.
#   1. Airflow's metadata database: `airflow db migrate`
#   2. the unified database (ONESTOP_DB_URL): `onestop db upgrade`
#   3. one Airflow pool per registered source (config/sources.yaml pool_slots): `onestop pools`
#   4. the simple auth manager's passwords file, when AIRFLOW_ADMIN_PASSWORD is given (compose)
# Each step is idempotent.
set -euo pipefail

: "${ONESTOP_DB_URL:?ONESTOP_DB_URL must name the unified PostgreSQL database}"

echo "onestop-init: airflow db migrate"
airflow db migrate

echo "onestop-init: onestop db upgrade"
onestop db upgrade

echo "onestop-init: pools from the source registry"
pools="$(mktemp)"
trap 'rm -f "$pools"' EXIT
onestop pools > "$pools"
airflow pools import "$pools"

if [[ -n "${AIRFLOW_ADMIN_PASSWORD:-}" && -n "${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:-}" ]]; then
  echo "onestop-init: passwords of the simple auth manager's users"
  python - <<'PY'
import json, os
from pathlib import Path

path = Path(os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
users = [u.split(":")[0] for u in os.environ.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin").split(",")]
passwords = {u: os.environ.get(f"AIRFLOW_{u.upper()}_PASSWORD", "") for u in users}
missing = [u for u, pw in passwords.items() if not pw]
if missing:
    raise SystemExit(f"onestop-init: set AIRFLOW_{missing[0].upper()}_PASSWORD (users: {', '.join(users)})")
path.parent.mkdir(parents=True, exist_ok=True)
path.write_text(json.dumps(passwords))
path.chmod(0o600)
PY
fi
echo "onestop-init: done"
