#!/usr/bin/env bash
# Run once by the postgres image when its data volume is new (/docker-entrypoint-initdb.d): two databases on
# one server, each owned by its own role of the same name, so that neither application can touch the other's
# tables (CONNECT is revoked from PUBLIC).
#   airflow  Airflow's metadata and the Celery result backend   AIRFLOW_DB_PASSWORD  (name: AIRFLOW_DB_NAME)
#   onestop  the unified provincial database (ONESTOP_DB_URL)   ONESTOP_DB_PASSWORD  (name: ONESTOP_DB_NAME)
# Passwords and names reach psql as variables (:'v' quotes a literal, :"v" an identifier): no shell or SQL
# interpolation of secrets. tests/docker runs this script against a real PostgreSQL.
set -euo pipefail
: "${AIRFLOW_DB_PASSWORD:?}" "${ONESTOP_DB_PASSWORD:?}"

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname postgres \
  -v airflow_db="${AIRFLOW_DB_NAME:-airflow}" -v airflow_password="$AIRFLOW_DB_PASSWORD" \
  -v onestop_db="${ONESTOP_DB_NAME:-onestop}" -v onestop_password="$ONESTOP_DB_PASSWORD" <<'SQL'
CREATE ROLE :"airflow_db" LOGIN PASSWORD :'airflow_password';
CREATE ROLE :"onestop_db" LOGIN PASSWORD :'onestop_password';
CREATE DATABASE :"airflow_db" OWNER :"airflow_db" ENCODING 'UTF8';
CREATE DATABASE :"onestop_db" OWNER :"onestop_db" ENCODING 'UTF8';
REVOKE ALL ON DATABASE :"airflow_db" FROM PUBLIC;
REVOKE ALL ON DATABASE :"onestop_db" FROM PUBLIC;
SQL
