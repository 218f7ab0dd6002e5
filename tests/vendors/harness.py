"""Onboard one vendor folder the way a newcomer would: start its server, write a registry holding only its
`source.yaml` entry, point ONESTOP_MAPPINGS_DIR at its mapping, set its Airflow connection from
`connection.json`; then sync and compare the loaded records with the server's ground truth.

A vendor folder tests/vendors/<vendor>/ holds:
  server.py        `python -m tests.vendors.<vendor>.server --port 0 --seed N --count N` -> `READY <url>`;
                   module constants REFUSAL (the vendor's wrong-credential message) and, optionally,
                   WRONG_CONNECTION (connection fields that are wrong; default: another password)
  source.yaml      ONE registry entry (a `- name: ...` list item, as pasted under `sources:`)
  <dialect>.yaml   the mapping
  connection.json  the Airflow connection's fields; "{url}" stands for the server's Base URL
  certs.py         optional: `prepare(tmp_dir: Path) -> {"server_args": [...], "extra": {...}}` run before the
                   server starts; server_args go on its command line, extra is merged into the connection's
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import textwrap
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import requests
import yaml

import mappings
from onestop.simulators.process import SimulatorProcess, start_process
from tests.vendors import truth as truth_module

VENDORS_DIR = Path(__file__).resolve().parent
SEED = 7
COUNT = 250
WRONG_PASSWORD = "sai-mat-khau-0000"


def discover() -> list[str]:
    """Every vendor folder: one with a server and a registry entry (a PENDING.md folder is a vendor whose
    kind the connector language does not speak yet: its server and contract tests run, it is not onboarded)."""
    return sorted(
        p.name
        for p in VENDORS_DIR.iterdir()
        if (p / "server.py").is_file() and (p / "source.yaml").is_file() and not (p / "PENDING.md").is_file()
    )


def mapping_file(folder: Path, dialect: str) -> Path:
    """A vendor's mapping: its own `<dialect>.yaml`, else the one another vendor folder holds (a system that serves
    another's records through a door of its own: a gateway, a list and detail API), never a copy of it."""
    own = folder / f"{dialect}.yaml"
    found = [own] if own.is_file() else sorted(VENDORS_DIR.glob(f"*/{dialect}.yaml"))
    if len(found) != 1:
        raise FileNotFoundError(f"{folder.name}: mapping {dialect}.yaml (found {[str(p) for p in found]})")
    return found[0]


def start_server(name: str, *args: str) -> SimulatorProcess:
    """A vendor's server process on a free port, serving the harness's seed and count."""
    return start_process(
        f"tests.vendors.{name}.server", "--port", "0", "--seed", str(SEED), "--count", str(COUNT), *args
    )


def control(url: str, what: str, **tls: Any) -> Any:
    """A vendor server's control endpoint (`/_vendor/truth`, `/_vendor/stats`, …): not part of its contract."""
    resp = requests.get(f"{url}/_vendor/{what}", timeout=30, **tls)
    resp.raise_for_status()
    return resp.json()


def refused_once(url: str, send: Callable[[], requests.Response], status: int, words: Iterable[str]) -> None:
    """`send()` is answered `status` in the vendor's `words`, and the server counts it as one refusal: what each
    vendor's contract test asks of every malformed request."""
    before = control(url, "stats")["refused"]
    resp = send()
    assert resp.status_code == status, resp.text
    assert all(w in resp.text for w in words), resp.text
    assert control(url, "stats")["refused"] == before + 1


@dataclass
class Vendor:
    name: str  # the folder
    folder: Path
    server: SimulatorProcess
    entry: dict[str, Any]  # the registry entry as parsed
    connection: dict[str, Any]  # the connection's fields, URL filled in, certs' extra merged
    module: Any  # the server module (REFUSAL, WRONG_CONNECTION)
    work: Path  # this vendor's scratch folder (registry, mappings, certificates)
    extra_files: dict[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return str(self.entry["name"])

    @property
    def conn_id(self) -> str:
        return str(self.entry["conn_id"])

    @property
    def refusal(self) -> str:
        return str(self.module.REFUSAL)

    def wrong_connection(self) -> dict[str, Any]:
        return {**self.connection, **getattr(self.module, "WRONG_CONNECTION", {"password": WRONG_PASSWORD})}

    def stats(self) -> dict[str, Any]:
        return control(self.server.url, "stats", **self._tls())

    def deleted(self) -> list[str]:
        """The ids a change feed published and then deleted (`/_vendor/deleted`); none for other vendors."""
        resp = requests.get(f"{self.server.url}/_vendor/deleted", timeout=30, **self._tls())
        return resp.json() if resp.status_code == 200 else []

    def truth(self) -> list[dict[str, Any]]:
        return control(self.server.url, "truth", **self._tls())

    def _tls(self) -> dict[str, Any]:
        """Control calls over https use the vendor's own CA and client certificate (the tls vendor)."""
        if not self.server.url.startswith("https"):
            return {}
        extra = self.connection.get("extra") or {}
        kwargs: dict[str, Any] = {"verify": _as_file(self.work, "ca.pem", extra.get("ca_bundle")) or True}
        cert, key = extra.get("client_cert"), extra.get("client_key")
        if cert:
            kwargs["cert"] = (_as_file(self.work, "client.pem", cert), _as_file(self.work, "client.key", key))
        return kwargs


def _as_file(folder: Path, name: str, value: str | None) -> str | None:
    """A connection extra holds a path or PEM text; requests wants a path."""
    if not value or "-----BEGIN" not in value:
        return value
    path = folder / name
    path.write_text(value)
    return str(path)


def _fill(value: Any, url: str) -> Any:
    if isinstance(value, str):
        return value.replace("{url}", url)
    if isinstance(value, dict):
        return {k: _fill(v, url) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, url) for v in value]
    return value


@contextmanager
def started(name: str, work: Path, *more_args: str) -> Iterator[Vendor]:
    """The vendor's server running (certificates prepared first when the folder has certs.py); `more_args` go
    on its command line (a vendor-specific test's options)."""
    folder = VENDORS_DIR / name
    work.mkdir(parents=True, exist_ok=True)
    server_args: list[str] = []
    extra: dict[str, Any] = {}
    if (folder / "certs.py").is_file():
        prepared = importlib.import_module(f"tests.vendors.{name}.certs").prepare(work)
        server_args = [str(a) for a in prepared.get("server_args", [])]
        extra = dict(prepared.get("extra", {}))
    entries = yaml.safe_load((folder / "source.yaml").read_text(encoding="utf-8"))
    entry = entries[0] if isinstance(entries, list) else entries
    module = importlib.import_module(f"tests.vendors.{name}.server")
    with start_server(name, *server_args, *more_args) as server:
        connection = _fill(json.loads((folder / "connection.json").read_text(encoding="utf-8")), server.url)
        if extra:
            connection["extra"] = {**(connection.get("extra") or {}), **extra}
        yield Vendor(name, folder, server, entry, connection, module, work)


def configure(vendor: Vendor, monkeypatch: Any, connection: dict[str, Any] | None = None) -> None:
    """Registry, mappings folder and connection for this vendor only (monkeypatch undoes them)."""
    registry_file = vendor.work / "sources.yaml"
    text = (vendor.folder / "source.yaml").read_text(encoding="utf-8")
    registry_file.write_text("sources:\n" + textwrap.indent(text, "  "), encoding="utf-8")
    maps = vendor.work / "mappings"
    maps.mkdir(exist_ok=True)
    dialect = str(vendor.entry["dialect"])
    shutil.copyfile(mapping_file(vendor.folder, dialect), maps / f"{dialect}.yaml")
    monkeypatch.setenv("ONESTOP_SOURCES", str(registry_file))
    monkeypatch.setenv("ONESTOP_MAPPINGS_DIR", str(maps))
    mappings.clear_cache()
    fields = {"conn_type": "http", **(connection or vendor.connection)}
    monkeypatch.setenv(f"AIRFLOW_CONN_{vendor.conn_id.upper()}", json.dumps(fields))


def sync_with_revocation(
    name: str, work: Path, monkeypatch: Any, revoke_at: int
) -> tuple[Any, dict[str, Any]]:
    """One sync of a vendor whose server drops every session (or token) at its `revoke_at`-th data request: the
    sync's counts and the server's stats (what was asked, what was refused)."""
    from onestop import pipeline

    with started(name, work, "--revoke-at", str(revoke_at)) as vendor:
        configure(vendor, monkeypatch)
        counts = pipeline.sync(vendor.source)
        return counts, vendor.stats()


@dataclass
class Comparison:
    dossiers: int = 0  # truth dossiers
    loaded: int = 0  # of them, found in onestop.dossier
    fields: int = 0  # (dossier, field) pairs compared
    mismatches: list[tuple[str, str, Any, Any]] = field(
        default_factory=list
    )  # (record id, path, truth, loaded)
    missing: list[str] = field(default_factory=list)  # truth record ids not loaded


def compare(db: psycopg.Connection, source: str, items: list[dict[str, Any]]) -> Comparison:
    """Every canonical field the generator set, against the loaded record of the same source_record_id."""
    rows = db.execute(
        "SELECT source_record_id, record FROM onestop.dossier WHERE source = %s", (source,)
    ).fetchall()
    return _compare({rid: record for rid, record in rows}, items)


def served_against_truth(url: str, mapping_file: Path, source: str, elements: Iterable[Any]) -> Comparison:
    """What a server serves, record element by element through its vendor's mapping, against its truth (the
    contract tests: no sync, no database)."""
    mapping = mappings.compile_mapping(mappings.load_mapping(mapping_file))
    normalized = {}
    for element in elements:
        outcome = mapping.normalize(mappings.element_to_dict(element), source)
        assert outcome.dossier is not None, outcome.describe(source)
        record = outcome.dossier.model_dump(mode="json")
        normalized[record["source_record_id"]] = record
    items = control(url, "truth")
    assert set(normalized) <= {i["source_record_id"] for i in items}, (
        "served a record the truth does not hold"
    )
    return _compare(normalized, items)


def _compare(loaded: dict[str, Any], items: list[dict[str, Any]]) -> Comparison:
    result = Comparison(dossiers=len(items))
    for item in items:
        rid = item["source_record_id"]
        record = loaded.get(rid)
        if record is None:
            result.missing.append(rid)
            continue
        result.loaded += 1
        for path, expected in truth_module.canonical_fields(item):
            result.fields += 1
            actual = truth_module.lookup(record, path)
            if not truth_module.same(expected, actual):
                result.mismatches.append((rid, path, expected, actual))
    return result


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def report_path() -> Path:
    default = Path(__file__).resolve().parents[2] / "var" / "vendors-report.json"
    return Path(os.environ.get("ONESTOP_VENDORS_REPORT") or default)
