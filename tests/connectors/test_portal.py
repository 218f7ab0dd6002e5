"""The portal adapter against the portal simulator (sessions, batches, 'already exists', rejections) and against
portals shaped unlike it (results in another order, without a code, naming other dossiers)."""

from __future__ import annotations

import json
import time

import pytest

from connectors.connection import Connection
from connectors.errors import AuthError, ProtocolError
from connectors.http import HttpClient, HttpSettings
from connectors.portal import PortalClient, portal_time, to_portal, to_progress
from onestop.simulators.process import start_simulator
from tests.connectors.scripted_server import scripted_server

RECORD = {
    "ma_ho_so": "000.00.14.H23-250312-0118",
    "procedure_code": "1.000656",
    "procedure_name": "Đăng ký khai sinh",
    "channel": 2,
    "status": 4,
    "applicant": {"name": "Nguyễn Văn An", "id_type": 1, "id_number": "030085001234"},
    "received_at": "2025-03-12T01:15:00+00:00",
    "history": [
        {"status": 2, "at": "2025-03-12T08:15:00+07:00"},
        {"status": 4, "at": "2025-03-12T09:00:00+07:00"},
    ],
}


@pytest.fixture
def client(tmp_path):
    with start_simulator("portal", "--state", str(tmp_path / "p.sqlite"), "--session-ttl", "1") as sim:
        conn = Connection(
            "onestop_portal",
            host=sim.url,
            login="portal",
            password="secret",
            extra={"dstcode": "H23", "madonvi": "000.00.00.H23"},
        )
        calls = []
        yield (
            PortalClient(
                conn,
                HttpClient("portal", sim.url, HttpSettings(max_attempts=1)),
                on_answer=lambda *a: calls.append(a),
            ),
            calls,
        )


def test_dates_go_as_ho_chi_minh_yyyymmddhhmmss() -> None:
    assert portal_time("2025-03-12T01:15:00+00:00") == "20250312081500"
    assert to_portal(RECORD)["NgayTiepNhan"] == "20250312081500"
    assert [row["TrangThai"] for row in to_progress(RECORD)] == [2, 4]


def test_a_create_then_already_exists_then_update(client) -> None:
    portal, calls = client
    assert portal.sync_dossiers([to_portal(RECORD)], updating=False)[0].ok
    again = portal.sync_dossiers([to_portal(RECORD)], updating=False)[0]
    assert (again.ok, again.code) == (False, "3")
    assert portal.sync_dossiers([to_portal({**RECORD, "status": 9})], updating=True)[0].ok
    assert all(r.ok for r in portal.update_progress(to_progress(RECORD)))
    assert [(c[0], c[2], c[3]) for c in calls] == [
        ("DongBoHoSoMC", 1, 1), ("DongBoHoSoMC", 1, 0), ("DongBoHoSoMC", 1, 1), ("CapNhatTienDoHoSoMC", 2, 2)
    ]  # fmt: skip


def test_an_expired_session_is_renewed_once(client) -> None:
    portal, _ = client
    portal.sync_dossiers([to_portal(RECORD)], updating=False)
    time.sleep(1.2)
    assert portal.sync_dossiers([to_portal(RECORD)], updating=True)[0].ok
    assert portal.logins == 2


def test_a_rejected_record_carries_the_portals_code_and_message(client) -> None:
    portal, _ = client
    result = portal.sync_dossiers(
        [to_portal({**RECORD, "procedure_code": "1.000656.000.00.14.H23"})], updating=False
    )[0]
    assert (result.ok, result.code) == (False, "-5") and "MaTTHC" in result.message


def test_wrong_credentials_are_an_auth_error(tmp_path) -> None:
    with start_simulator("portal", "--state", str(tmp_path / "p.sqlite")) as sim:
        conn = Connection("p", host=sim.url, login="portal", password="wrong")
        with pytest.raises(AuthError, match="login refused"):
            PortalClient(conn, HttpClient("portal", sim.url)).sync_dossiers(
                [to_portal(RECORD)], updating=False
            )


def portal_answering(results: object) -> list[tuple[int, dict[str, str], bytes]]:
    """A portal unlike our simulator: its login, then one integration answer with these per-record results."""
    said = {"Content-Type": "application/json"}
    return [(200, said, json.dumps({"error_code": 0, "session": "s"}).encode()),
            (200, said, json.dumps({"error_code": "00", "message": "", "results": results}).encode())]  # fmt: skip


def sent_with(results: object) -> list[tuple[str, bool, str, str]]:
    records = [to_portal({**RECORD, "ma_ho_so": code}) for code in ("HS-1", "HS-2", "HS-3")]
    with scripted_server(portal_answering(results)) as (url, _):
        portal = PortalClient(Connection("p", host=url, login="u", password="p"), HttpClient("portal", url))
        return [(r.ma_ho_so, r.ok, r.code, r.message) for r in portal.sync_dossiers(records, updating=False)]


def test_results_that_name_their_dossier_pair_by_name_in_any_order() -> None:
    """A portal that lists failures first: each record gets its own result, never its neighbour's."""
    results = [{"MaHoSo": "HS-3", "error_code": "-5", "message": "MaTTHC sai"},
               {"MaHoSo": "HS-1", "error_code": 0}, {"MaHoSo": "HS-2", "error_code": "00"}]  # fmt: skip
    assert sent_with(results) == [
        ("HS-1", True, "0", ""),
        ("HS-2", True, "0", ""),
        ("HS-3", False, "-5", "MaTTHC sai"),
    ]


def test_a_result_without_a_code_or_no_object_is_not_taken_for_a_delivery() -> None:
    """What the portal did with such a record is unknown: it is not marked delivered (a silent loss if the
    portal did not take it), but rejected with what the portal said, for an administrator to see and re-drive."""
    found = sent_with([{"error_code": 0}, {"message": "đã nhận"}, "OK"])
    assert [(code, ok) for _, ok, code, _ in found] == [("0", True), ("?", False), ("?", False)]
    assert found[1][3].startswith("the portal's result gives no error_code")
    assert found[2][3] == "the portal's result is not an object: 'OK'"


def test_results_that_name_other_dossiers_fail_the_batch() -> None:
    results = [
        {"MaHoSo": "HS-1", "error_code": 0},
        {"MaHoSo": "HS-2", "error_code": 0},
        {"MaHoSo": "HS-9", "error_code": 0},
    ]
    with pytest.raises(ProtocolError, match=r"the results name other dossiers than were sent \(HS-9…\)"):
        sent_with(results)
