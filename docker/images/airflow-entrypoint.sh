#!/usr/bin/env bash
# The official apache/airflow image's entrypoint commands, in short (stand-in for `make test-images`):
#   bash … / python … / airflow …     run as given
#   anything else (api-server, scheduler, dag-processor, triggerer, celery worker, db migrate, …)
#                                     an `airflow` subcommand: `airflow "$@"`
#   no command                        airflow's help
# The official entrypoint also waits for the metadata database; compose's depends_on does that here.
set -euo pipefail
if [[ $# -eq 0 ]]; then
  exec airflow --help
fi
case "$1" in
  bash | python | python3 | airflow) exec "$@" ;;
  *) exec airflow "$@" ;;
esac
