"""The benchmark's dlt peer: dlt 1.31's `rest_api` source loads an iGate district system into PostgreSQL.

Runs INSIDE the dlt venv (bench/dlt_peer/env.py builds it), never in the project's .venv:

    var/bench/dlt-venv/bin/python bench/dlt_peer/load_igate.py --base-url http://127.0.0.1:PORT \
        --client-id igate --client-secret secret --pg-url postgresql://postgres@/db?host=/sock --dataset dlt_igate \
        [--page-size 1000] [--workers N] [--normalize-workers N] [--load-workers N] \
        [--loader-file-format insert_values|csv|parquet] [--file-max-items N] [--buffer-max-items N] \
        [--updated-from ISO] [--updated-to ISO]

What dlt is asked to do (the same job as our pipeline, without its validation):
- GET {base}/api/v1/dossiers?page=0,1,...&size=N (+ updatedFrom/updatedTo when given); records under `content`;
  dlt's stock PageNumberPaginator(base_page=0, page_param="page", total_path=None, maximum_page=None,
  stop_after_empty_page=True): iGate gives no total, so dlt reads until a page comes back empty (one request
  more than a client that stops at a short page).
- OAuth2 client credentials: dlt's OAuth2ClientCredentials, POST {base}/oauth/token, form fields client_id,
  client_secret, grant_type=client_credentials; dlt refetches the token when expires_in has passed.
- write_disposition="merge", primary_key="id" (dlt's default merge strategy, delete-insert through a staging
  dataset), into table `dossiers` of dataset --dataset at --pg-url.
- max_table_nesting=0: no child tables and no flattening; every nested object or list (procedure, applicant,
  history, attachments, fees...) stays one JSON (jsonb) column. Column names go through dlt's snake_case naming.
- Everything dlt would write or read on its own (pipeline state, packages, .anonymous_id, config.toml lookups)
  stays in a temporary folder, removed at exit (pipelines_dir=, DLT_DATA_DIR, DLT_PROJECT_DIR, the run
  context's global dir): nothing lands in ~/.dlt or /var/dlt. Telemetry off; dlt's log level WARNING.
- --pg-url may be a Unix-socket URL (postgresql://postgres@/db?host=/socket/dir) and may lack a password.

Prints ONE JSON line on stdout:
    {"rows": n, "rows_extracted": m, "seconds": s, "extract_s": e, "normalize_s": n, "load_s": l, "config": {...}}
rows = rows in the destination table after the load; rows_extracted = records this run read from the API;
seconds = wall time of pipeline.run (extract + normalize + load); the *_s fields come from dlt's trace.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from typing import Any

DLT_DEFAULT_LOAD_WORKERS = 20  # dlt 1.31 LoaderConfiguration.workers
TABLE = "dossiers"
PIPELINE_NAME = "onestop_bench_dlt_igate"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base-url", required=True, help="the iGate system, e.g. http://127.0.0.1:8123")
    p.add_argument("--client-id", default="igate")
    p.add_argument("--client-secret", default="secret")
    p.add_argument(
        "--pg-url", required=True, help="postgresql://user[:pw]@host[:port]/db or ...@/db?host=/socket"
    )
    p.add_argument("--dataset", required=True, help="dlt dataset = PostgreSQL schema the table goes in")
    p.add_argument(
        "--page-size", type=int, default=1000, help="the `size` query parameter (iGate caps it at 1000)"
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="normalize AND load workers (default: dlt's, a normalize process pool of os.cpu_count() and 20 load threads)",
    )
    p.add_argument("--normalize-workers", type=int, default=None, help="normalize workers (over --workers)")
    p.add_argument("--load-workers", type=int, default=None, help="load workers (over --workers)")
    p.add_argument(
        "--loader-file-format",
        default="insert_values",
        help="dlt loader file format for postgres: insert_values (dlt's default), csv (COPY) or parquet (ADBC)",
    )
    p.add_argument(
        "--buffer-max-items",
        type=int,
        default=None,
        help="rows a writer buffers before it writes them out (default: dlt's, 5000)",
    )
    p.add_argument(
        "--file-max-items",
        type=int,
        default=None,
        help="rotate extract/normalize files every N rows (default: dlt's, no rotation); more files let more workers work",
    )
    p.add_argument("--updated-from", default=None, help="updatedFrom window bound (ISO 8601), optional")
    p.add_argument("--updated-to", default=None, help="updatedTo window bound (ISO 8601), optional")
    return p


def configure_environment(args: argparse.Namespace, scratch: str) -> dict[str, Any]:
    """dlt reads its settings from the environment; set them all before dlt is imported."""
    os.environ.update(
        {
            "DLT_DATA_DIR": os.path.join(scratch, "data"),  # instead of ~/.dlt
            "DLT_PROJECT_DIR": os.path.join(
                scratch, "project"
            ),  # no ./.dlt/config.toml from the caller's cwd
            "RUNTIME__DLTHUB_TELEMETRY": "false",
            "RUNTIME__LOG_LEVEL": "WARNING",
        }
    )
    cpus = os.cpu_count() or 1
    normalize_workers = args.workers if args.workers is not None else cpus
    load_workers = args.workers if args.workers is not None else DLT_DEFAULT_LOAD_WORKERS
    if args.normalize_workers is not None:
        normalize_workers = args.normalize_workers
    if args.load_workers is not None:
        load_workers = args.load_workers
    if args.workers is not None or args.normalize_workers is not None:
        os.environ["NORMALIZE__WORKERS"] = str(normalize_workers)
    if args.workers is not None or args.load_workers is not None:
        os.environ["LOAD__WORKERS"] = str(load_workers)
    if args.file_max_items is not None:
        os.environ["DATA_WRITER__FILE_MAX_ITEMS"] = str(args.file_max_items)
    if args.buffer_max_items is not None:
        os.environ["DATA_WRITER__BUFFER_MAX_ITEMS"] = str(args.buffer_max_items)
    return {
        "dlt_version": None,  # filled in once dlt is imported
        "source": "dlt.sources.rest_api.rest_api_source",
        "resource": TABLE,
        "endpoint": "/api/v1/dossiers",
        "data_selector": "content",
        "paginator": {
            "type": "PageNumberPaginator",
            "base_page": 0,
            "page_param": "page",
            "total_path": None,
            "maximum_page": None,
            "stop_after_empty_page": True,
        },
        "params": {
            "size": args.page_size,
            **({"updatedFrom": args.updated_from} if args.updated_from else {}),
            **({"updatedTo": args.updated_to} if args.updated_to else {}),
        },
        "auth": {"type": "OAuth2ClientCredentials", "access_token_url": "/oauth/token"},
        "write_disposition": "merge",
        "merge_strategy": "delete-insert (dlt default)",
        "primary_key": "id",
        "max_table_nesting": 0,
        "loader_file_format": args.loader_file_format,
        "normalize_workers": normalize_workers,
        "normalize_pool": "none" if normalize_workers == 1 else "process",
        "load_workers": load_workers,
        "load_pool": "none" if load_workers == 1 else "thread",
        "file_max_items": args.file_max_items,
        "buffer_max_items": args.buffer_max_items,
        "page_size": args.page_size,
        "cpu_count": cpus,
    }


def pg_credentials(pg_url: str) -> Any:
    """dlt's PostgresCredentials for a libpq URL, Unix sockets included.

    dlt insists on a host and a password. A socket URL (`postgresql://postgres@/db?host=/dir`) gets the socket
    folder as its host, percent-encoded the way libpq reads it in a URI; a URL without a password (trust or
    peer authentication) gets an empty one.
    """
    from urllib.parse import quote

    from dlt.destinations.impl.postgres.configuration import PostgresCredentials

    credentials = PostgresCredentials()
    credentials.parse_native_representation(pg_url)
    query = dict(credentials.query or {})
    socket_dir = query.pop("host", None)
    if not credentials.host and socket_dir:
        credentials.host = quote(socket_dir, safe="")
        credentials.query = query
    if credentials.password is None:
        credentials.password = ""
    return credentials


def step_seconds(trace: Any) -> dict[str, float]:
    seconds = {"extract_s": 0.0, "normalize_s": 0.0, "load_s": 0.0}
    for step in trace.steps:
        key = f"{step.step}_s"
        if key in seconds and step.started_at and step.finished_at:
            seconds[key] = round((step.finished_at - step.started_at).total_seconds(), 3)
    return seconds


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not 1 <= args.page_size <= 1000:
        print("--page-size must be in 1..1000 (iGate's cap)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="dlt-peer-") as scratch:
        config = configure_environment(args, scratch)

        import dlt
        from dlt.common.runtime import run_context
        from dlt.sources.helpers.rest_client.auth import OAuth2ClientCredentials
        from dlt.sources.helpers.rest_client.paginators import PageNumberPaginator
        from dlt.sources.rest_api import rest_api_source

        config["dlt_version"] = dlt.__version__
        # dlt's "global dir" is ~/.dlt, or /var/dlt for root, and no variable moves it: even with telemetry off
        # dlt writes an .anonymous_id there and reads config.toml/secrets.toml from it. The run context has a
        # per-instance override; point it at the scratch folder too.
        context = run_context.active()
        if hasattr(context, "_global_dir"):
            context._global_dir = os.path.join(scratch, "global")
        base = args.base_url.rstrip("/")
        source = rest_api_source(
            {
                "client": {
                    "base_url": f"{base}/",
                    "auth": OAuth2ClientCredentials(
                        access_token_url=f"{base}/oauth/token",
                        client_id=args.client_id,
                        client_secret=args.client_secret,
                    ),
                    "paginator": PageNumberPaginator(
                        base_page=0,
                        page_param="page",
                        total_path=None,
                        maximum_page=None,
                        stop_after_empty_page=True,
                    ),
                },
                "resource_defaults": {"write_disposition": "merge", "primary_key": "id"},
                "resources": [
                    {
                        "name": TABLE,
                        "endpoint": {
                            "path": "api/v1/dossiers",
                            "data_selector": "content",
                            "params": config["params"],
                        },
                    }
                ],
            },
            max_table_nesting=0,
        )
        pipeline = dlt.pipeline(
            pipeline_name=PIPELINE_NAME,
            pipelines_dir=os.path.join(scratch, "pipelines"),
            destination=dlt.destinations.postgres(credentials=pg_credentials(args.pg_url)),
            dataset_name=args.dataset,
        )
        started = time.perf_counter()
        pipeline.run(source, loader_file_format=args.loader_file_format)
        seconds = time.perf_counter() - started

        trace = pipeline.last_trace
        rows_extracted = sum(
            metrics["table_metrics"][TABLE].items_count
            for step in trace.last_extract_info.metrics.values()
            for metrics in step
            if TABLE in metrics["table_metrics"]
        )
        with pipeline.sql_client() as client:
            table = client.make_qualified_table_name(TABLE)
            rows = client.execute_sql(f"SELECT count(*) FROM {table}")[0][0]
        result = {
            "rows": int(rows),
            "rows_extracted": int(rows_extracted),
            "seconds": round(seconds, 3),
            **step_seconds(trace),
            "config": config,
        }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
