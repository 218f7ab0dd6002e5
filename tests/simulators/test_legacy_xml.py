"""The legacy ASP.NET district simulator as a real process: XML over HTTP on 127.0.0.1, errors inside HTTP 200."""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime

import pytest
import requests
from lxml import etree

from mappings.legacy_text import decode_tcvn3, decode_vni, legacy_bytes
from onestop.simulators.igate_data import BAD_REASONS
from onestop.simulators.legacy_xml import RESOURCE, STATUS, UNKNOWN_STATUS
from onestop.simulators.process import SimulatorProcess, start_simulator

COUNT = 2000
AUTH = ("aspnet", "secret")
DMY_HM = re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}$")
DMY = re.compile(r"^\d{2}/\d{2}/\d{4}$")
MA_HO_SO = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[GH]\d{2}-\d{6}-\d{4,5}$")


@pytest.fixture(scope="module")
def legacy() -> Iterator[SimulatorProcess]:
    with start_simulator("legacy_xml", "--seed", "42", "--count", str(COUNT), "--district", "288") as sim:
        yield sim


@pytest.fixture(scope="module")
def twin() -> Iterator[SimulatorProcess]:
    """Same seed and count (pages must match byte for byte), other credentials."""
    args = ("--seed", "42", "--count", str(COUNT), "--username", "motcua", "--password", "p@ss:word")
    with start_simulator("legacy_xml", *args) as sim:
        yield sim


def get(sim: SimulatorProcess, auth: tuple[str, str] | None = AUTH, **params: object) -> requests.Response:
    return requests.get(f"{sim.url}{RESOURCE}", params=params, auth=auth, timeout=60)


def answer(resp: requests.Response) -> etree._Element:
    assert resp.status_code == 200  # whatever happened: this vendor answers 200
    assert resp.content.startswith(b'<?xml version="1.0" encoding="utf-8"?><KetQua>')
    return etree.fromstring(resp.content)


def fetch_all(sim: SimulatorProcess, size: int = 500, **window: str) -> list[etree._Element]:
    out, page = [], 1
    while True:
        root = answer(get(sim, currPage=page, pageSize=size, **window))
        assert root.findtext("ErrorCode") == "0"
        out.extend(root.find("DanhSach"))
        if page >= int(root.findtext("lastPage")):
            return out
        page += 1


def truth(sim: SimulatorProcess) -> list[dict]:
    resp = requests.get(f"{sim.url}/_sim/truth", timeout=120)
    resp.raise_for_status()
    return [json.loads(line) for line in resp.text.splitlines() if line]


def day(iso: str) -> date:
    return datetime.fromisoformat(iso).date()  # truth times carry +07:00: this is the Vietnamese day


def test_credentials_are_http_basic_and_a_refusal_is_an_error_code_inside_200(
    legacy: SimulatorProcess, twin: SimulatorProcess
) -> None:
    before = requests.get(f"{legacy.url}/_sim/stats", timeout=10).json()
    for auth in (None, ("aspnet", "wrong"), ("motcua", "p@ss:word")):
        root = answer(get(legacy, auth=auth, currPage=1, pageSize=5))
        assert root.findtext("ErrorCode") == "401"
        assert "sai tên đăng nhập hoặc mật khẩu" in root.findtext("ErrorMessage")
        assert root.findtext("TotalCount") == "0" and len(root.find("DanhSach")) == 0
    after = requests.get(f"{legacy.url}/_sim/stats", timeout=10).json()
    assert after["unauthorized"] - before["unauthorized"] == 3
    # --username/--password: a password may hold ':' (Basic splits at the first one).
    assert answer(get(twin, auth=("motcua", "p@ss:word"), pageSize=1)).findtext("ErrorCode") == "0"
    assert answer(get(twin, auth=AUTH, pageSize=1)).findtext("ErrorCode") == "401"


def test_pages_count_from_one_to_last_page_with_the_total(legacy: SimulatorProcess) -> None:
    first = answer(get(legacy, currPage=1, pageSize=300))
    assert [el.tag for el in first] == [
        "ErrorCode",
        "ErrorMessage",
        "TotalCount",
        "currPage",
        "lastPage",
        "DanhSach",
    ]
    assert first.find("ErrorMessage").text is None  # <ErrorMessage/>
    total, last = int(first.findtext("TotalCount")), int(first.findtext("lastPage"))
    assert total == COUNT and last == math.ceil(COUNT / 300)
    ids: list[str] = []
    for page in range(1, last + 1):
        root = answer(get(legacy, currPage=page, pageSize=300))
        assert root.findtext("currPage") == str(page) and root.findtext("lastPage") == str(last)
        rows = root.find("DanhSach")
        assert len(rows) == (300 if page < last else COUNT - 300 * (last - 1))
        ids += [row.findtext("ID") for row in rows]
    assert len(ids) == len(set(ids)) == COUNT
    past = answer(get(legacy, currPage=last + 1, pageSize=300))
    assert past.findtext("ErrorCode") == "0" and len(past.find("DanhSach")) == 0
    capped = answer(get(legacy, currPage=1, pageSize=5000))
    assert len(capped.find("DanhSach")) == 1000 and capped.findtext("lastPage") == str(
        math.ceil(COUNT / 1000)
    )


def test_the_only_filter_is_a_window_of_receipt_days(legacy: SimulatorProcess) -> None:
    rows = truth(legacy)
    lo, hi = date(2025, 3, 3), date(2025, 3, 5)
    expected = [r for r in rows if lo <= day(r["receiptDate"]) <= hi]
    got = fetch_all(legacy, size=40, tuNgay="03/03/2025", denNgay="05/03/2025")
    assert expected and [el.findtext("ID") for el in got] == [
        r["id"] for r in sorted(expected, key=lambda r: (r["receiptDate"], r["id"]))
    ]
    # Inclusive days; no filter on the last update: dossiers updated weeks later are in, and dossiers
    # updated inside the window but received before it are out.
    assert any(day(r["updatedDate"]) > hi for r in expected)
    assert any(lo <= day(r["updatedDate"]) <= hi and day(r["receiptDate"]) < lo for r in rows)
    one_day = fetch_all(legacy, tuNgay="04/03/2025", denNgay="04/03/2025")
    assert {el.findtext("ID") for el in one_day} == {
        r["id"] for r in expected if day(r["receiptDate"]) == date(2025, 3, 4)
    }
    # The receipt is DateReceived, else DateSubmitted (an online dossier not yet taken in).
    for el in got:
        received = el.findtext("DateReceived") or el.findtext("DateSubmitted")
        if received.startswith("30/02/"):
            continue  # a deliberately bad row: its DateReceived names no day
        assert lo <= datetime.strptime(received, "%d/%m/%Y %H:%M").date() <= hi
    # Either bound may be left out.
    since = fetch_all(legacy, tuNgay="01/06/2025")
    assert {el.findtext("ID") for el in since} == {
        r["id"] for r in rows if day(r["receiptDate"]) >= date(2025, 6, 1)
    }


@pytest.mark.parametrize(
    ("params", "code", "says"),
    [
        ({"tuNgay": "30/02/2025"}, "101", "tuNgay"),
        ({"denNgay": "2025-03-01"}, "101", "denNgay"),
        ({"tuNgay": "05/03/2025", "denNgay": "03/03/2025"}, "102", "tuNgay lớn hơn denNgay"),
        ({"currPage": 0}, "100", "currPage"),
        ({"pageSize": "x"}, "100", "pageSize"),
    ],
)
def test_bad_parameters_are_error_codes_inside_200(
    legacy: SimulatorProcess, params: dict, code: str, says: str
) -> None:
    root = answer(get(legacy, **{"currPage": 1, "pageSize": 10, **params}))
    assert root.findtext("ErrorCode") == code
    assert says in root.findtext("ErrorMessage")
    assert len(root.find("DanhSach")) == 0


def test_records_have_the_vendor_shape_and_agree_with_truth(legacy: SimulatorProcess) -> None:
    expected = {r["id"]: r for r in truth(legacy)}
    records = fetch_all(legacy, size=1000)
    assert {el.findtext("ID") for el in records} == set(expected)
    vendor_status = set(STATUS.values())
    for el in records:
        t = expected[el.findtext("ID")]
        children = {c.tag for c in el}
        assert {
            "ID",
            "TENTTHC",
            "ApplicantName",
            "DateSubmitted",
            "STATUS",
            "LastModified",
            "History",
        } <= children
        assert el.findtext("LastModified") == datetime.fromisoformat(t["updatedDate"]).strftime(
            "%d/%m/%Y %H:%M:%S"
        )
        assert el.findtext("Channel") in ("1", "2", "3")
        assert el.findtext("ReturnMethod") in ("TAI_QUAY", "BUU_DIEN")
        assert DMY.match(el.findtext("BirthDate")) and DMY_HM.match(el.findtext("DateSubmitted"))
        if el.findtext("DateAppointed"):
            assert DMY.match(el.findtext("DateAppointed"))
        assert [s.findtext("STATUS") in vendor_status for s in el.iterfind("History/Step")] == [True] * len(
            el.findall("History/Step")
        )
        assert all(DMY_HM.match(s.findtext("Time")) for s in el.iterfind("History/Step"))
        assert all(re.fullmatch(r"\d{1,3}(\.\d{3})*", f.findtext("Amount")) for f in el.iterfind("Fees/Fee"))
        bad = t["bad"]
        assert (el.find("DocCode") is None) == (bad == "missing_code")
        assert (el.find("MATTHC") is None) == (bad == "missing_nationCode")
        if bad != "missing_code":
            assert el.findtext("DocCode") == t["code"] and MA_HO_SO.match(t["code"])
        if bad == "impossible_date":
            assert el.findtext("DateReceived").startswith("30/02/")
        elif el.findtext("DateReceived"):
            assert DMY_HM.match(el.findtext("DateReceived"))
        if bad == "unknown_status":
            assert el.findtext("STATUS") == UNKNOWN_STATUS
        else:
            assert el.findtext("STATUS") == STATUS[t["status"]]
    bad_rows = [r for r in expected.values() if r["bad"]]
    assert 0.005 * COUNT <= len(bad_rows) <= 0.015 * COUNT and {r["bad"] for r in bad_rows} <= set(
        BAD_REASONS
    )


def test_migrated_rows_carry_nfd_tcvn3_vni_and_utf8_text_that_the_truth_knows(
    legacy: SimulatorProcess,
) -> None:
    expected = {r["id"]: r for r in truth(legacy)}
    shares = Counter(r["text"] for r in expected.values())
    assert 0.08 * COUNT <= shares["nfd"] <= 0.12 * COUNT
    assert 0.035 * COUNT <= shares["tcvn3"] <= 0.06 * COUNT  # a few rows stay clean: see the docstring
    assert 0.035 * COUNT <= shares["vni"] <= 0.06 * COUNT
    assert 0.02 * COUNT <= shares["utf8"] <= 0.04 * COUNT
    for el in fetch_all(legacy, size=1000):
        t = expected[el.findtext("ID")]
        shown, meant = el.findtext("ApplicantName"), t["applicant_name"]
        assert unicodedata.is_normalized("NFC", meant)
        if t["text"] is None:
            assert shown == meant
        elif t["text"] == "nfd":
            assert shown == unicodedata.normalize("NFD", meant)
        else:
            data = legacy_bytes(shown)
            assert (
                data is not None
            )  # only Windows-1252/latin-1 characters: legacy bytes as Windows shows them
            decode = {"tcvn3": decode_tcvn3, "vni": decode_vni, "utf8": bytes.decode}[t["text"]]
            assert decode(data) == meant
        # The whole row was migrated: the summary ("<procedure> - <applicant>") carries the same damage.
        assert el.findtext("Summary").endswith(f" - {shown}")


def test_same_seed_gives_byte_identical_pages(legacy: SimulatorProcess, twin: SimulatorProcess) -> None:
    params = {"currPage": 2, "pageSize": 100, "tuNgay": "01/04/2025"}
    a = get(legacy, **params)
    b = get(twin, auth=("motcua", "p@ss:word"), **params)
    assert a.content == b.content and len(answer(a).find("DanhSach")) == 100


def test_the_clock_decides_what_exists(legacy: SimulatorProcess) -> None:
    original = requests.get(f"{legacy.url}/_sim/clock", timeout=10).json()["clock"]
    assert original == "2025-06-21T17:00:00+07:00"
    try:
        early = requests.post(f"{legacy.url}/_sim/clock", json={"set": "2025-02-14T12:00:00"}, timeout=10)
        assert early.json() == {"clock": "2025-02-14T12:00:00+07:00"}
        total = int(answer(get(legacy, pageSize=1)).findtext("TotalCount"))
        assert 0 < total < COUNT and total == len(truth(legacy))
        requests.post(
            f"{legacy.url}/_sim/clock", json={"advance_hours": 24 * 30}, timeout=10
        ).raise_for_status()
        assert int(answer(get(legacy, pageSize=1)).findtext("TotalCount")) > total
    finally:
        requests.post(f"{legacy.url}/_sim/clock", json={"set": original}, timeout=10).raise_for_status()


def test_health_stats_and_a_clean_exit() -> None:
    with start_simulator("legacy_xml", "--count", "50", "--latency", "5") as sim:
        assert requests.get(f"{sim.url}/health", timeout=10).json() == {"ok": True}
        assert answer(get(sim, pageSize=10)).findtext("TotalCount") == "50"
        stats = requests.get(f"{sim.url}/_sim/stats", timeout=10).json()
        assert stats == {"requests": 1, "unauthorized": 0, "errors": 0, "records_served": 10}
    assert sim.proc.returncode == 0  # SIGTERM ends it cleanly


def test_rates_that_add_up_to_more_than_everything_are_refused() -> None:
    with pytest.raises(RuntimeError, match=r"(?s)exited with code 2.*must not exceed 1"):
        start_simulator("legacy_xml", "--nfd-rate", "0.6", "--tcvn3-rate", "0.3", "--vni-rate", "0.3")
