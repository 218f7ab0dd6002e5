"""The portal adapter against the portal simulator: sessions, batches, 'already exists', rejections."""

from __future__ import annotations

import time

import pytest

from connectors.connection import Connection
from connectors.errors import AuthError
from connectors.http import HttpClient, HttpSettings
from connectors.portal import PortalClient, portal_time, to_portal, to_progress
from onestop.simulators.process import start_simulator

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
