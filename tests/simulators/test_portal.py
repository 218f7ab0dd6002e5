"""The National Public Service Portal simulator as a real process, over HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from onestop.simulators.process import SimulatorProcess, start_simulator

UNIT = "000.00.00.H23"


@pytest.fixture(scope="module")
def portal_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    state = tmp_path_factory.mktemp("portal") / "portal.sqlite"
    with start_simulator("portal", "--state", str(state)) as sim:
        yield sim


@pytest.fixture
def portal(portal_sim: SimulatorProcess) -> SimulatorProcess:
    """The module's portal, emptied for each test (sessions survive a reset)."""
    requests.post(f"{portal_sim.url}/_inspect/reset", timeout=10).raise_for_status()
    return portal_sim


def login(sim: SimulatorProcess, password: str = "secret", dstcode: str = "H23") -> dict[str, Any]:
    return requests.post(
        f"{sim.url}/login",
        json={"username": "portal", "password": password},
        headers={"dstcode": dstcode},
        timeout=10,
    ).json()


def call(sim: SimulatorProcess, session: str, service: str, data: list, **extra: Any) -> dict[str, Any]:
    body = {"session": session, "madonvi": UNIT, "service": service, "data": data, **extra}
    resp = requests.post(f"{sim.url}/integration", json=body, timeout=30)
    assert resp.status_code == 200  # errors travel inside the body
    return resp.json()


def sync(sim: SimulatorProcess, session: str, data: list, updating: bool = False) -> dict[str, Any]:
    return call(sim, session, "DongBoHoSoMC", data, isUpdating="True" if updating else "False")


def dossier(n: int, **overrides: Any) -> dict[str, Any]:
    record = {
        "MaHoSo": f"000.00.14.H23-250312-{n:04d}",
        "MaTTHC": "1.000656",
        "TenTTHC": "Đăng ký khai tử",
        "MaLinhVuc": "G14-TP01",
        "TenLinhVuc": "Hộ tịch",
        "KenhThucHien": 2,
        "ChuHoSo": "Nguyễn Văn An",
        "TrichYeuHoSo": "Đăng ký khai tử",
        "NgayNopHoSo": "20250312075000",
        "NgayTiepNhan": "20250312081500",
        "NgayHenTra": "20250317170000",
        "TrangThaiHoSo": 4,
        "DanhSachLePhi": [{"TenPhiLePhi": "Lệ phí", "MaPhiLePhi": "LP01", "HinhThucThu": 1, "Gia": 50000}],
    }
    for key, value in overrides.items():
        if value is None:
            record.pop(key, None)
        else:
            record[key] = value
    return record


def progress(n: int, when: str = "20250312081500", status: int = 2) -> dict[str, Any]:
    return {
        "MaHoSo": f"000.00.14.H23-250312-{n:04d}",
        "NguoiXuLy": "Trần Thị Bình",
        "ChucDanh": "Chuyên viên",
        "ThoiDiemXuLy": when,
        "PhongBanXuLy": "Bộ phận một cửa",
        "NoiDungXuLy": "Tiếp nhận hồ sơ",
        "TrangThai": status,
        "NgayBatDau": "20250312081500",
        "NgayKetThucTheoQuyDinh": "20250317170000",
    }


def summary(sim: SimulatorProcess) -> dict[str, Any]:
    return requests.get(f"{sim.url}/_inspect/summary", timeout=10).json()


def held(sim: SimulatorProcess) -> dict[str, dict]:
    text = requests.get(f"{sim.url}/_inspect/dossiers", timeout=30).text
    return {d["MaHoSo"]: d for d in map(json.loads, filter(None, text.splitlines()))}


def test_login(portal: SimulatorProcess) -> None:
    assert login(portal, password="wrong") == {
        "error_code": "-1",
        "message": "Sai tên đăng nhập hoặc mật khẩu",
    }
    assert login(portal, dstcode="H99")["error_code"] == "-1"
    ok = login(portal)
    assert ok["error_code"] == 0 and len(ok["session"]) >= 32
    assert summary(portal)["logins"] == 1


def test_call_level_errors(portal: SimulatorProcess) -> None:
    session = login(portal)["session"]
    assert sync(portal, "no-such-session", [dossier(1)]) == {
        "error_code": "-2",
        "message": "Phiên làm việc hết hạn",
    }
    assert call(portal, session, "XoaHoSo", [dossier(1)])["error_code"] == "-9"
    bad_json = requests.post(f"{portal.url}/integration", data=b"{not json", timeout=10).json()
    assert bad_json["error_code"] == "-8"
    assert sync(portal, session, [dossier(i) for i in range(501)])["error_code"] == "-6"
    assert sync(portal, session, [])["error_code"] == "-6"
    assert call(portal, session, "DongBoHoSoMC", [dossier(1)], madonvi="")["error_code"] == "-7"
    assert summary(portal)["received"] == 0  # nothing was processed


def test_create_exists_update(portal: SimulatorProcess) -> None:
    session = login(portal)["session"]
    batch = [dossier(i) for i in range(1, 6)]
    first = sync(portal, session, batch)
    assert first["error_code"] == 0
    assert [r["error_code"] for r in first["results"]] == [0] * 5
    assert [r["MaHoSo"] for r in first["results"]] == [d["MaHoSo"] for d in batch]
    again = sync(portal, session, batch[:2])
    assert [(r["error_code"], r["message"]) for r in again["results"]] == [("3", "Hồ sơ đã tồn tại")] * 2
    updated = sync(
        portal, session, [dossier(1, TrangThaiHoSo="10", NgayTra="20250314150000"), dossier(99)], True
    )
    assert [r["error_code"] for r in updated["results"]] == [0, "-4"]
    assert updated["results"][1]["message"] == "Hồ sơ không tồn tại"
    # A repeat inside one create batch "already exists" too.
    dup = sync(portal, session, [dossier(7), dossier(7)])
    assert [r["error_code"] for r in dup["results"]] == [0, "3"]
    state = held(portal)
    assert len(state) == 6
    one = state[dossier(1)["MaHoSo"]]
    assert one["TrangThaiHoSo"] == 10 and one["writes"] == 2 and one["record"]["NgayTra"] == "20250314150000"
    assert state[dossier(2)["MaHoSo"]]["writes"] == 1
    s = summary(portal)
    assert (s["accepted"], s["received"], s["rejected"]) == (6, 5 + 2 + 2 + 2, 2 + 1 + 1)
    assert s["calls"]["DongBoHoSoMC"] == 4


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"MaHoSo": None}, "MaHoSo"),
        ({"MaTTHC": "1.000656.000.00.14.H23"}, "MaTTHC"),
        ({"MaTTHC": None}, "MaTTHC"),
        ({"TenTTHC": ""}, "TenTTHC"),
        ({"TrangThaiHoSo": 11}, "TrangThaiHoSo"),
        ({"TrangThaiHoSo": None}, "TrangThaiHoSo"),
        ({"KenhThucHien": 4}, "KenhThucHien"),
        ({"NgayTiepNhan": None, "NgayNopHoSo": None}, "NgayTiepNhan"),
        ({"ChuHoSo": None}, "ChuHoSo"),
        ({"NgayHenTra": "2025-03-17 17:00:00"}, "NgayHenTra"),
        ({"NgayTiepNhan": "20250230081500"}, "NgayTiepNhan"),
        ({"TrichYeuHoSo": "x" * 1001}, "TrichYeuHoSo"),
        ({"DanhSachHoSoBoSung": [{"NgayYeuCau": "12/03/2025"}]}, "DanhSachHoSoBoSung[0].NgayYeuCau"),
    ],
)
def test_validation_names_the_failing_field(portal: SimulatorProcess, overrides: dict, field: str) -> None:
    session = login(portal)["session"]
    answer = sync(portal, session, [dossier(1, **overrides), dossier(2)])
    assert answer["error_code"] == 0
    bad, good = answer["results"]
    assert bad["error_code"] == "-5" and field in bad["message"]
    assert good["error_code"] == 0
    assert summary(portal)["accepted"] == 1


def test_several_failing_fields_are_all_named(portal: SimulatorProcess) -> None:
    session = login(portal)["session"]
    result = sync(portal, session, [dossier(1, MaTTHC="abc", KenhThucHien=0, NgayHenTra="x")])["results"][0]
    assert all(f in result["message"] for f in ("MaTTHC", "KenhThucHien", "NgayHenTra"))


def test_progress(portal: SimulatorProcess) -> None:
    session = login(portal)["session"]
    sync(portal, session, [dossier(1)])
    rows = [
        progress(1),
        progress(1, "20250312090000", 4),
        progress(1),
        progress(2),
        progress(1, "2025-03-12"),
    ]
    answer = call(portal, session, "CapNhatTienDoHoSoMC", rows)
    assert answer["error_code"] == 0
    assert [r["error_code"] for r in answer["results"]] == [0, 0, 0, "-4", "-5"]
    assert "ThoiDiemXuLy" in answer["results"][4]["message"]
    s = summary(portal)
    assert s["progress_rows"] == 2 and s["calls"]["CapNhatTienDoHoSoMC"] == 1
    one = requests.get(f"{portal.url}/_inspect/dossiers/{dossier(1)['MaHoSo']}", timeout=10).json()
    assert one["progress"] == 2 and [p["ThoiDiemXuLy"] for p in one["progress_rows"]] == [
        "20250312081500",
        "20250312090000",
    ]
    missing = requests.get(f"{portal.url}/_inspect/dossiers/000.00.14.H23-250312-9999", timeout=10)
    assert missing.status_code == 404


def test_expired_session_and_state_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "portal.sqlite"
    with start_simulator("portal", "--state", str(state), "--session-ttl", "1") as sim:
        session = login(sim)["session"]
        assert sync(sim, session, [dossier(1), dossier(2)])["error_code"] == 0
        call(sim, session, "CapNhatTienDoHoSoMC", [progress(1)])
        time.sleep(1.2)
        assert sync(sim, session, [dossier(3)])["error_code"] == "-2"
        before = summary(sim)
    assert sim.proc.returncode == 0
    with start_simulator("portal", "--state", str(state)) as sim:
        assert summary(sim) == before
        assert set(held(sim)) == {dossier(1)["MaHoSo"], dossier(2)["MaHoSo"]}
        assert sync(sim, session, [dossier(3)])["error_code"] == "-2"  # sessions do not outlive the process
        again = sync(sim, login(sim)["session"], [dossier(1)])
        assert again["results"][0]["error_code"] == "3"
        assert summary(sim)["received"] == before["received"] + 1
    assert before["accepted"] == 2 and before["progress_rows"] == 1 and before["logins"] == 1
