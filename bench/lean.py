"""The lean pipeline: the least a loader of an iGate system can do, as a ceiling beside ours.

    .venv/bin/python -m bench.lean --base-url URL --pg-url URL [--page-size 200] [--chunk 10000]

Fetches pages with one keep-alive `requests` session (the next page is fetched while this one is loaded, as our
extract does), parses them with orjson, COPYs (id, raw record) into a temp table and merges each chunk with one
`INSERT … ON CONFLICT (id) DO UPDATE` into `lean.dossier (id text primary key, record jsonb)`: no validation, no
mapping, no history, no outbox. Commits once at the end. Prints one JSON line: {"rows", "fetched", "seconds",
"pages"}. Run as its own process (the bench times it like the end-to-end sync, process start included).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import orjson
import psycopg
import requests

SCHEMA = """
CREATE SCHEMA IF NOT EXISTS lean;
DROP TABLE IF EXISTS lean.dossier;
CREATE TABLE lean.dossier (id text PRIMARY KEY, record jsonb NOT NULL);
"""


def token(session: requests.Session, base: str, client_id: str, secret: str) -> str:
    resp = session.post(
        f"{base}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        timeout=60,
    )
    resp.raise_for_status()
    return resp.json()["access_token"]


def merge(conn: psycopg.Connection, chunk: list[dict]) -> None:
    """One COPY into the temp table, one INSERT … ON CONFLICT (a page may repeat an id: newest kept)."""
    with conn.cursor() as cur:
        cur.execute("TRUNCATE lean_stage")
        with cur.copy("COPY lean_stage (seq, id, record) FROM STDIN") as copy:
            for seq, rec in enumerate(chunk):
                copy.write_row((seq, str(rec["id"]), orjson.dumps(rec).decode()))
        cur.execute(
            "INSERT INTO lean.dossier (id, record)"
            " SELECT DISTINCT ON (id) id, record FROM lean_stage ORDER BY id, seq DESC"
            " ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record"
        )


def run(base: str, pg_url: str, page_size: int, chunk_size: int, client_id: str, secret: str) -> dict:
    session = requests.Session()  # keep-alive: one connection for every page
    headers = {"Authorization": f"Bearer {token(session, base, client_id, secret)}"}

    def fetch(page: int) -> list[dict]:
        resp = session.get(
            f"{base}/api/v1/dossiers", params={"page": page, "size": page_size}, headers=headers, timeout=300
        )
        resp.raise_for_status()
        return orjson.loads(resp.content)["content"]

    fetched = pages = 0
    wait_s = db_s = 0.0  # where the time went: waiting for a page, and COPY + merge
    with psycopg.connect(pg_url) as conn, ThreadPoolExecutor(1) as ahead:
        conn.execute(SCHEMA)
        conn.execute("CREATE TEMP TABLE lean_stage (seq int, id text, record jsonb)")
        chunk: list[dict] = []
        page, pending = 0, ahead.submit(fetch, 0)
        while True:
            started = time.perf_counter()
            records = pending.result()
            wait_s += time.perf_counter() - started
            pages += 1
            if len(records) == page_size:  # a short page is the last one
                page += 1
                pending = ahead.submit(fetch, page)
            chunk += records
            fetched += len(records)
            if len(chunk) >= chunk_size or len(records) < page_size:
                started = time.perf_counter()
                if chunk:
                    merge(conn, chunk)
                db_s += time.perf_counter() - started
                chunk = []
            if len(records) < page_size:
                break
        started = time.perf_counter()
        conn.commit()
        db_s += time.perf_counter() - started
        rows = conn.execute("SELECT count(*) FROM lean.dossier").fetchone()[0]
    return {"rows": rows, "fetched": fetched, "pages": pages, "page_wait_s": round(wait_s, 3),
            "db_s": round(db_s, 3)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base-url", required=True)
    p.add_argument("--pg-url", required=True)
    p.add_argument("--client-id", default="igate")
    p.add_argument("--client-secret", default="secret")
    p.add_argument("--page-size", type=int, default=200)
    p.add_argument("--chunk", type=int, default=10_000, help="records per COPY + merge")
    args = p.parse_args(argv)
    started = time.perf_counter()
    result = run(args.base_url.rstrip("/"), args.pg_url, args.page_size, args.chunk, args.client_id,
                 args.client_secret)  # fmt: skip
    result["seconds"] = round(time.perf_counter() - started, 3)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
