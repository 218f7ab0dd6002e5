"""The personal-data mask (schemas.personal_data.mask_text) on every line of a realistic log: its cost per line.

Run: .venv/bin/python -m bench.mask [lines] [repeats]   (defaults: 20000 lines, 5 repeats)
Prints one JSON line. Not a test: no timing assertions.

The corpus is generated from a fixed seed: Airflow task log lines, pipeline progress lines, vendor answers quoted
in errors (JSON and SOAP, with dates, MaHoSo and procedure codes, amounts), request lines with query strings,
run ids (UUIDs) and hex record ids, tracebacks; about one line in eight carries a CCCD, a phone or an e-mail.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
import uuid

from schemas.personal_data import mask_text

NAMES = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Hoàng Cường", "Phạm Thu Dung", "Đỗ Minh Đức"]
SOURCES = ["hd_chi_linh", "hd_kinh_mon", "hd_thanh_ha", "hp_le_chan", "lgsp_feed"]
PHONES = [
    "0912345678",
    "0912 345 678",
    "+84 912 345 678",
    "(024) 3823 4567",
    "84-912-345-678",
    "0912.345.678",
]


def _line(r: random.Random) -> str:
    day = f"2025-07-{r.randint(1, 30):02d}"
    at = f"{day}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}.{r.randint(0, 999):03d}+0700"
    src = r.choice(SOURCES)
    code = f"000.00.{r.randint(10, 40):02d}.H56-{r.randint(200101, 251231)}-{r.randint(1, 9999):04d}"
    run = str(uuid.UUID(int=r.getrandbits(128)))
    oid = f"{r.getrandbits(96):024x}"
    kind = r.randrange(12)
    if kind == 0:
        return f"[{at}] {{taskinstance.py:{r.randint(100, 3000)}}} INFO - Marking task as SUCCESS. dag_id=onestop_sync_{src}, run_id=scheduled__{day}T00:00:00+00:00"
    if kind == 1:
        return f"[{at}] {{pipeline.py:{r.randint(100, 900)}}} INFO - {src}: page {r.randint(1, 80)}, {r.randint(0, 300)} records in {r.random() * 3:.3f} s"
    if kind == 2:
        return json.dumps({"timestamp": at, "level": "info", "event": "loaded", "source": src, "run_id": run,
                           "records": r.randint(0, 5000), "bytes": r.randint(0, 10**7)})  # fmt: skip
    if kind == 3:
        return f"GET http://10.0.{r.randint(0, 9)}.{r.randint(1, 254)}:8080/api/v1/dossiers?fromDate={day.replace('-', '')}000000&page={r.randint(0, 50)}&size=300 -> HTTP {r.choice([200, 200, 200, 404, 500, 503])}"
    if kind == 4:
        body = {"MaHoSo": code, "MaTTHC": f"1.{r.randint(0, 999999):06d}", "NgayTiepNhan": day.replace("-", "") + "083000",
                "NgayHenTra": f"{r.randint(1, 28):02d}/08/2025", "LePhi": f"{r.randint(1, 900) * 1000:,}".replace(",", "."),
                "TrangThai": r.randint(1, 10), "_id": oid}  # fmt: skip
        return f"{src}: quarantined {code}: {json.dumps(body, ensure_ascii=False)}"
    if kind == 5:
        return f"<soap:Fault><faultcode>soap:Server</faultcode><faultstring>Hồ sơ {code} không hợp lệ: ngày hẹn trả {r.randint(1, 28):02d}.07.2025 trước ngày tiếp nhận</faultstring></soap:Fault>"
    if kind == 6:
        return f'  File "/opt/onestop/connectors/rest.py", line {r.randint(10, 600)}, in _records'
    if kind == 7:
        return f"trace {run}: step normalize took {r.randint(1, 900)} ms; record {oid} sha1 {r.getrandbits(160):040x}"
    if kind == 8:
        return f"{src}: breaker open after {r.randint(3, 9)} failures (ConnectTimeout: HTTPConnectionPool(host='10.1.2.3', port=443): timed out)"
    if kind == 9:
        return f"[{at}] {{outbox.py:88}} WARNING - portal refused {code}: lỗi trường NgayHenTra '{r.randint(1, 28):02d}/07/2025 10:00' (mã 1.000656.000.00.00.H56)"
    if kind == 10:
        return f"{src}: {r.randint(1, 300)} rows, window {day} 00:00:00 .. {day} 23:59:59, took {r.random():.6f} s"
    # one in twelve lines: personal data in a vendor's answer
    pick = r.randrange(4)
    if pick == 0:
        return f'{src}: HTTP 500: {{"SoGiayToChuHoSo":"0{r.randint(10**10, 10**11 - 1)}","HoTen":"{r.choice(NAMES)}"}}'
    if pick == 1:
        return f"{src}: Hồ sơ {code} của {r.choice(NAMES)}, SĐT {r.choice(PHONES)} bị từ chối"
    if pick == 2:
        return f"GET /api/citizens?email=nguyen.van.{r.randint(1, 99)}%40gmail.com&page=1 -> HTTP 404"
    return f"<SoCMND>{r.randint(10**8, 10**9 - 1)}</SoCMND><Email>tran.thi.b{r.randint(1, 99)}@so-tp.haiduong.gov.vn</Email>"


def corpus(lines: int = 20000, seed: int = 20250701) -> list[str]:
    r = random.Random(seed)
    return [_line(r) for _ in range(lines)]


def measure(lines: int = 20000, repeats: int = 5) -> dict:
    texts = corpus(lines)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for text in texts:
            mask_text(text)
        times.append(time.perf_counter() - start)
    changed = sum(mask_text(t) != t for t in texts)
    return {
        "lines": lines,
        "chars": sum(map(len, texts)),
        "min_s": round(min(times), 4),
        "median_s": round(statistics.median(times), 4),
        "us_per_line": round(min(times) / lines * 1e6, 2),
        "lines_changed": changed,
    }


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    print(json.dumps(measure(*args)))
