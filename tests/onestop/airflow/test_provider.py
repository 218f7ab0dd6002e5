"""onestop-esb is an Airflow provider: the Connections page offers one connection type per kind of district
system, with our form, and its Test button makes one real call into the system and says what it found.

Needs the package's `apache_airflow_provider` entry point installed (pyproject.toml), as in production.
"""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
import requests
import yaml

from connectors.connection import TRANSPORT_FIELDS
from onestop.airflow.cluster import AirflowCluster, free_port
from onestop.airflow.provider import KINDS
from onestop.simulators.process import SimulatorProcess, start_simulator
from tests.conftest import ROOT


@dataclass(frozen=True)
class Simulated:
    simulator: str  # onestop.simulators.<simulator>
    connector: str  # connectors.<connector>
    credentials: dict[str, str]  # the simulator's documented defaults: login and password fields


SIMULATED = {
    "rest": Simulated("igate", "rest", {"login": "igate", "password": "secret"}),
    "soap": Simulated("soap_district", "soap", {"login": "soap", "password": "secret"}),
    # kind xml is read by the REST connector (answer: xml)
    "xml": Simulated("legacy_xml", "rest", {"login": "aspnet", "password": "secret"}),
    "feed": Simulated("feed", "feed", {"password": "feed-key"}),
}


def _absent(*modules: str) -> str | None:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    return f"{', '.join(missing)} not written yet" if missing else None


def kinds(*, simulator: bool) -> list:
    """Every kind; skipped only while its connector (or simulator) module does not exist."""
    params = []
    for kind, sim in SIMULATED.items():
        modules = [f"connectors.{sim.connector}"] + (
            [f"onestop.simulators.{sim.simulator}"] if simulator else []
        )
        reason = _absent(*modules)
        params.append(pytest.param(kind, marks=pytest.mark.skipif(reason is not None, reason=reason or "")))
    return params


@pytest.fixture(scope="module")
def registry_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped profiles, and two REST sources of our own (the shipped list changes as districts join)."""
    shipped = yaml.safe_load((ROOT / "config" / "sources.yaml").read_text(encoding="utf-8"))
    entries = [
        {"name": name, "title": name, "profile": "igate", "conn_id": f"onestop_src_{name}"}
        for name in ("alpha", "beta", "delta")
    ]
    # delta reads a total the iGate-style answer does not have
    entries[2]["rest"] = {
        "paginator": {"type": "page_number", "base": 0, "stop": "total_count", "total_path": "total"}
    }
    path = tmp_path_factory.mktemp("registry") / "sources.yaml"
    path.write_text(yaml.safe_dump({"profiles": shipped["profiles"], "sources": entries}, allow_unicode=True))
    return path


@pytest.fixture(autouse=True)
def use_registry_file(registry_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONESTOP_SOURCES", str(registry_file))


class Simulators:
    """Each kind's simulator, started on first use and stopped with the module."""

    def __init__(self) -> None:
        self.running: dict[str, SimulatorProcess] = {}

    def __getitem__(self, kind: str) -> SimulatorProcess:
        if kind not in self.running:
            self.running[kind] = start_simulator(SIMULATED[kind].simulator)
        return self.running[kind]

    def stop(self) -> None:
        for sim in self.running.values():
            sim.stop()


@pytest.fixture(scope="module")
def simulators() -> Iterator[Simulators]:
    sims = Simulators()
    try:
        yield sims
    finally:
        sims.stop()


def press_test_button(
    monkeypatch: pytest.MonkeyPatch, kind: str, conn_id: str = "onestop_under_test", **fields
) -> tuple[bool, str]:
    """What the API server does for the Test button: the connection as an AIRFLOW_CONN_* variable, then
    Connection.test_connection(), which finds our hook through the ProvidersManager."""
    from airflow.models.connection import Connection  # after conftest has configured Airflow

    extra = fields.pop("extra", None)
    conn = Connection(
        conn_id=conn_id, conn_type=KINDS[kind].conn_type, extra=json.dumps(extra) if extra else None, **fields
    )
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", conn.get_uri())
    return conn.test_connection()


# --- the form --------------------------------------------------------------------------------------------

HOOK_NAMES = {
    "onestop_rest": "Hệ thống một cửa (REST) — District one-stop system (REST)",
    "onestop_soap": "Hệ thống một cửa (SOAP) — District one-stop system (SOAP)",
    "onestop_xml": "Hệ thống một cửa cũ (XML qua HTTP) — Legacy one-stop system (XML over HTTP)",
    "onestop_feed": "Luồng thay đổi (nền tảng tích hợp) — Change feed (integration platform)",
}
OWN_FIELDS = {
    "onestop_rest": "token_url",
    "onestop_soap": "wsdl",
    "onestop_xml": "resource",
    "onestop_feed": "api_key_header",
}
RELABELED = {"host": "Base URL", "login": "Client id / user", "password": "Secret / password / API key"}


def test_the_installed_package_registers_the_provider() -> None:
    # Every installed copy counts, as in Airflow's discovery (a stale egg-info may come first on sys.path).
    found = {
        e.value
        for dist in metadata.distributions(name="onestop-esb")
        for e in dist.entry_points.select(group="apache_airflow_provider")
    }
    assert found == {"onestop.airflow.provider:get_provider_info"}, (
        "pyproject.toml needs [project.entry-points.apache_airflow_provider] "
        'provider_info = "onestop.airflow.provider:get_provider_info" (then `make` reinstalls the package)'
    )


def test_airflow_lists_the_four_connection_types_with_their_form() -> None:
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert "onestop-esb" in manager.providers
    meta = {m.connection_type: m for m in manager.iter_connection_type_hook_ui_metadata()}
    widgets = manager.connection_form_widgets
    for conn_type, hook_name in HOOK_NAMES.items():
        behaviour = meta[conn_type].field_behaviour or {}
        assert meta[conn_type].hook_name == hook_name
        assert behaviour["relabeling"] == RELABELED
        assert {"schema", "port"} <= set(behaviour["hidden_fields"])  # the Base URL carries them
        assert behaviour["placeholders"]["host"].startswith("https://")
        for field in (OWN_FIELDS[conn_type], "source"):
            assert widgets[f"extra__{conn_type}__{field}"].field["schema"]["type"] == ["string", "null"]
    assert "login" in meta["onestop_feed"].field_behaviour["hidden_fields"]  # an API key only
    assert "login" not in meta["onestop_rest"].field_behaviour["hidden_fields"]


def test_each_connection_type_gets_its_hook() -> None:
    from airflow.models.connection import Connection

    for kind in KINDS.values():
        hook = Connection(conn_id="x", conn_type=kind.conn_type).get_hook()
        assert (type(hook).__name__, hook.conn_type, hook.onestop_conn_id) == (
            kind.hook_class.rsplit(".", 1)[1],
            kind.conn_type,
            "x",
        )


# --- the Test button, in process -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", kinds(simulator=True))
def test_a_good_connection_passes_with_what_the_probe_found(kind, simulators, monkeypatch) -> None:
    sim = simulators[kind]
    ok, message = press_test_button(monkeypatch, kind, host=sim.url, **SIMULATED[kind].credentials)
    assert ok, message
    assert message.startswith(f"{KINDS[kind].vietnamese} tại {sim.url}, kiểm tra theo ")
    assert "kết nối và xác thực được. Chi tiết kỹ thuật: " in message and "authenticated" in message


@pytest.mark.parametrize("kind", kinds(simulator=True))
def test_a_wrong_secret_fails_saying_the_credentials_were_refused(kind, simulators, monkeypatch) -> None:
    sim = simulators[kind]
    fields = {**SIMULATED[kind].credentials, "password": "not-the-secret"}
    ok, message = press_test_button(monkeypatch, kind, host=sim.url, **fields)
    assert not ok
    assert message.startswith(f"{KINDS[kind].vietnamese} tại {sim.url}")
    assert "thông tin đăng nhập bị từ chối" in message
    assert "not-the-secret" not in message
    assert "Traceback" not in message


@pytest.mark.parametrize("kind", kinds(simulator=False))
def test_a_dead_port_fails_at_once_saying_nothing_answered(kind, monkeypatch) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    ok, message = press_test_button(monkeypatch, kind, host=url, login="u", password="p")
    assert not ok
    assert message.startswith(f"{KINDS[kind].vietnamese} tại {url}")
    assert "không nhận được câu trả lời dùng được: kiểm tra Base URL" in message
    assert time.monotonic() - started < 10  # one attempt: no retries with backoff while a person waits


def test_a_connection_the_registry_names_is_checked_with_those_sources_settings(
    simulators, monkeypatch
) -> None:
    sim = simulators["rest"]
    ok, message = press_test_button(
        monkeypatch, "rest", "onestop_src_beta", host=sim.url, login="igate", password="secret"
    )
    assert ok, message
    assert "kiểm tra theo cấu hình của nguồn beta — " in message


def test_any_other_connection_is_checked_with_the_first_source_of_its_kind(simulators, monkeypatch) -> None:
    sim = simulators["rest"]
    ok, message = press_test_button(monkeypatch, "rest", host=sim.url, login="igate", password="secret")
    assert ok, message
    assert "cấu hình của nguồn alpha (chọn nguồn khác ở ô Registry source)" in message


def test_the_registry_source_field_chooses_the_settings(simulators, monkeypatch) -> None:
    sim = simulators["rest"]
    fields = {"host": sim.url, "login": "igate", "password": "secret"}
    ok, message = press_test_button(monkeypatch, "rest", **fields, extra={"source": "beta"})
    assert ok and "cấu hình của nguồn beta — " in message, message
    ok, message = press_test_button(monkeypatch, "rest", **fields, extra={"source": "gamma"})
    assert not ok
    assert "no source named 'gamma' in the registry (known: alpha, beta, delta)" in message


def test_a_first_page_that_does_not_fit_the_registry_fails_the_test(simulators, monkeypatch) -> None:
    sim = simulators["rest"]
    fields = {"host": sim.url, "login": "igate", "password": "secret"}
    ok, message = press_test_button(monkeypatch, "rest", **fields, extra={"source": "delta"})
    assert not ok
    assert (
        "the first page's answer does not fit the registry: paginator.total_path 'total' is not in the answer"
        in message
    )


def test_the_kinds_own_field_overrides_the_registry(simulators, monkeypatch) -> None:
    sim = simulators["rest"]
    fields = {"host": sim.url, "login": "igate", "password": "secret"}
    ok, message = press_test_button(monkeypatch, "rest", **fields, extra={"token_url": "/no/such/token"})
    assert not ok
    assert "token: HTTP 404" in message


def test_a_connection_without_a_base_url_says_so(monkeypatch) -> None:
    assert press_test_button(monkeypatch, "rest", login="igate", password="secret") == (
        False,
        "Hệ thống một cửa (REST): chưa điền Base URL (Host)",
    )


# --- the Test button, through the API server ------------------------------------------------------------


@pytest.fixture
def api_server(airflow_api: AirflowCluster) -> AirflowCluster:
    return airflow_api


def test_the_ui_form_of_each_type_comes_from_the_provider(api_server: AirflowCluster) -> None:
    resp = requests.get(
        f"{api_server.url}/ui/connections/hook_meta",
        headers={"Authorization": f"Bearer {api_server.token()}"},
        timeout=60,
    )
    resp.raise_for_status()
    forms = {m["connection_type"]: m for m in resp.json()}
    for conn_type, hook_name in HOOK_NAMES.items():
        form = forms[conn_type]
        assert form["hook_name"] == hook_name
        assert form["standard_fields"]["host"]["title"] == "Base URL"
        assert form["standard_fields"]["url_schema"]["hidden"] is True
        # its own field, the registry source, and the transport (CA bundle, mutual TLS, proxy, verification)
        assert set(form["extra_fields"]) == {OWN_FIELDS[conn_type], "source", *TRANSPORT_FIELDS}


@pytest.mark.parametrize("kind", kinds(simulator=True))
def test_the_test_button_answers_for_a_good_and_a_bad_connection(kind, api_server, simulators) -> None:
    sim = simulators[kind]
    body = {"connection_id": f"onestop_{kind}_ui", "conn_type": KINDS[kind].conn_type, "host": sim.url}
    good = api_server.api("POST", "/connections/test", json={**body, **SIMULATED[kind].credentials})
    assert good["status"] is True, good["message"]
    assert good["message"].startswith(f"{KINDS[kind].vietnamese} tại {sim.url}")

    wrong = {**SIMULATED[kind].credentials, "password": "not-the-secret"}
    bad = api_server.api("POST", "/connections/test", json={**body, **wrong})
    assert bad["status"] is False
    assert bad["message"].startswith(f"{KINDS[kind].vietnamese} tại {sim.url}")
    assert "thông tin đăng nhập bị từ chối" in bad["message"] and "not-the-secret" not in bad["message"]
