"""README "Add a district", proved: a vendor unlike every other — a POST search with the page in a JSON body,
errors inside HTTP 200, zone-less local times, Vietnamese snake_case fields, statuses as Vietnamese text, pages
from 1 with a total, an API key — is onboarded with one registry entry and one mapping file
(config/examples/nam_sach_rest/), and syncs. The vendor's system is served by this test and enforces its contract."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from typer.testing import CliRunner

from connectors.errors import AuthError
from mappings import clear_cache
from onestop import pipeline
from onestop.cli import app
from schemas import HCM
from tests.conftest import ROOT

EXAMPLE = ROOT / "config" / "examples" / "nam_sach_rest"
API_KEY = "k-123"
STATUSES = ["Đã tiếp nhận", "Đang xử lý", "Đã có kết quả", "Đã trả kết quả"]
T0 = datetime(2025, 4, 1, 8, 0, tzinfo=HCM)


def vendor_record(i: int) -> dict:
    received = T0 + timedelta(hours=7 * i)
    steps = [{"trang_thai": s, "thoi_diem": (received + timedelta(hours=h)).strftime("%Y%m%d%H%M%S"), "can_bo": "Lê Văn Bình"}
             for h, s in enumerate(STATUSES[: 1 + i % 4])]  # fmt: skip
    return {
        "id_ho_so": f"NS-{i:05d}",
        "ma_ho_so": f"000.00.17.H23-{received:%y%m%d}-{i:04d}",
        "ma_thu_tuc": "1.000656.000.00.17.H23",
        "ten_thu_tuc": "Đăng ký khai sinh",
        "linh_vuc": "Hộ tịch",
        "ma_co_quan": "000.00.17.H23",
        "kenh_nop": ["TRUC_TIEP", "TRUC_TUYEN"][i % 2],
        "trang_thai": steps[-1]["trang_thai"],
        "trich_yeu": f"Đăng ký khai sinh cho cháu số {i}",
        "chu_ho_so": {
            "ho_ten": "Phạm Thị Hoa",
            "so_dinh_danh": f"030190{i:06d}",
            "dien_thoai": "0912345678",
            "ngay_sinh": "02/03/1990",
        },
        "ngay_tiep_nhan": received.strftime("%Y%m%d%H%M%S"),
        "ngay_hen_tra": (received + timedelta(days=5)).strftime("%Y%m%d%H%M%S"),
        "ngay_cap_nhat": steps[-1]["thoi_diem"],
        "qua_trinh_xu_ly": steps,
    }


RECORDS = [vendor_record(i) for i in range(137)]


@pytest.fixture
def vendor() -> Iterator[tuple[str, list[dict]]]:
    """The new vendor's system: POST /api/ho-so/tim-kiem, a JSON body {tu_ngay, den_ngay, phan_trang: {trang,
    so_ban_ghi}} in local time, X-Api-Key; errors as {"thanh_cong": false, "ma_loi", "thong_bao"} in HTTP 200."""
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._send(405, {"thanh_cong": False, "ma_loi": "PHUONG_THUC", "thong_bao": "Chỉ hỗ trợ POST"})

        def do_POST(self) -> None:
            if urlsplit(self.path).path != "/api/ho-so/tim-kiem":
                return self._send(404, {"thanh_cong": False, "thong_bao": "Không tìm thấy"})
            if self.headers.get("X-Api-Key") != API_KEY:
                return self._send(200, {"thanh_cong": False, "ma_loi": "KHOA_SAI", "thong_bao": "Khóa truy cập không hợp lệ"})  # fmt: skip
            try:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                lo, hi = (datetime.strptime(body[k], "%Y-%m-%d %H:%M:%S") for k in ("tu_ngay", "den_ngay"))
                page, size = body["phan_trang"]["trang"], body["phan_trang"]["so_ban_ghi"]
                assert isinstance(page, int) and page >= 1 and isinstance(size, int)
            except (KeyError, ValueError, TypeError, AssertionError):
                return self._send(400, {"thanh_cong": False, "ma_loi": "THAM_SO", "thong_bao": "Tham số không hợp lệ"})  # fmt: skip
            seen.append(body)
            rows = [r for r in RECORDS if f"{lo:%Y%m%d%H%M%S}" <= r["ngay_cap_nhat"] <= f"{hi:%Y%m%d%H%M%S}"]
            self._send(200, {"thanh_cong": True, "tong_so": len(rows), "du_lieu": rows[(page - 1) * size : page * size]})  # fmt: skip

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


@pytest.fixture
def onboarded(tmp_path: Path, vendor, monkeypatch) -> str:
    """What the README tells an engineer to do: append the entry, add the mapping, define the connection."""
    registry = yaml.safe_load((ROOT / "config" / "sources.yaml").read_text())
    entry = yaml.safe_load((EXAMPLE / "sources_entry.yaml").read_text())[0]
    registry["sources"].append(entry)
    (tmp_path / "sources.yaml").write_text(yaml.safe_dump(registry, allow_unicode=True))
    mappings_dir = tmp_path / "mappings"
    mappings_dir.mkdir()
    (mappings_dir / "vn_snake.yaml").write_text((EXAMPLE / "vn_snake.yaml").read_text())
    monkeypatch.setenv("ONESTOP_SOURCES", str(tmp_path / "sources.yaml"))
    monkeypatch.setenv("ONESTOP_MAPPINGS_DIR", str(mappings_dir))
    conn = {"conn_type": "onestop_rest", "host": vendor[0], "password": API_KEY}
    monkeypatch.setenv(f"AIRFLOW_CONN_{entry['conn_id'].upper()}", json.dumps(conn))
    clear_cache()
    yield entry["name"]
    clear_cache()


def test_the_new_vendor_passes_config_check(onboarded: str) -> None:
    result = CliRunner().invoke(app, ["config", "check"])
    assert "vn_snake" not in result.stderr, result.stderr
    assert " 0 errors" in result.stdout


def test_the_new_vendor_syncs_with_no_python_added(db, onboarded: str, vendor) -> None:
    counts = pipeline.sync(onboarded)

    assert (counts.fetched, counts.loaded, counts.quarantined) == (len(RECORDS), len(RECORDS), 0)
    pages = vendor[1]
    assert [p["phan_trang"]["trang"] for p in pages] == [1, 2, 3]  # pages from 1, stopped by the total (137)
    # The window went out in the system's local time (zone-less), the run's window as stored in UTC.
    start, end = db.execute("SELECT window_start, window_end FROM onestop.sync_run").fetchone()
    assert pages[0]["tu_ngay"] == f"{start.astimezone(HCM):%Y-%m-%d %H:%M:%S}"
    assert pages[0]["den_ngay"] == f"{end.astimezone(HCM):%Y-%m-%d %H:%M:%S}"
    row = db.execute(
        "SELECT record FROM onestop.dossier WHERE source = %s AND source_record_id = 'NS-00003'", (onboarded,)
    ).fetchone()[0]
    assert (row["status"], row["channel"], row["procedure_code"]) == (10, 2, "1.000656")
    assert row["received_at"] == "2025-04-02T05:00:00+07:00"
    assert [e["status"] for e in row["history"]] == [2, 4, 9, 10]


def test_a_wrong_key_fails_with_the_vendor_s_own_words(db, onboarded: str, monkeypatch, vendor) -> None:
    conn = {"conn_type": "onestop_rest", "host": vendor[0], "password": "wrong"}
    monkeypatch.setenv("AIRFLOW_CONN_ONESTOP_SRC_HD_NAM_SACH_V2", json.dumps(conn))
    with pytest.raises(AuthError, match="the system answered an error KHOA_SAI: Khóa truy cập không hợp lệ"):
        pipeline.sync(onboarded)
    attempt = db.execute("SELECT error_class, message FROM onestop.attempt").fetchone()
    assert attempt[0] == "AuthError" and "Khóa truy cập không hợp lệ" in attempt[1]


def test_onestop_sync_says_why_in_one_line_and_goes_on(db, onboarded: str, monkeypatch, vendor) -> None:
    conn = {"conn_type": "onestop_rest", "host": vendor[0], "password": "wrong"}
    monkeypatch.setenv("AIRFLOW_CONN_ONESTOP_SRC_HD_NAM_SACH_V2", json.dumps(conn))
    result = CliRunner().invoke(app, ["sync", onboarded])
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    said = json.loads(result.stderr.strip().splitlines()[-1])
    assert said["source"] == onboarded and said["error"] == "AuthError"
    assert "KHOA_SAI: Khóa truy cập không hợp lệ" in said["message"]
