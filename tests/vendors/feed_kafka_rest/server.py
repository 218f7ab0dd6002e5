"""The province's event hub ("Nền tảng chia sẻ sự kiện HUB-HD"): a district's dossier changes as a consumer-group feed.

Contract (the hub's "Hướng dẫn tích hợp cho bên tiêu thụ", API v1):
  POST /oauth2/token           OAuth2 client credentials: Authorization: Basic base64(client_id:client_secret),
                               form body grant_type=client_credentials[&scope=feed.read]
       -> {"access_token": "...", "token_type": "Bearer", "expires_in": 600, "scope": "feed.read"}
  Every other call: Authorization: Bearer <access_token>. A client reads only groups named `onestop-…`.
  POST /v1/consumers/{group}/records   Content-Type application/json (or application/vnd.hub.v1+json)
       {"max_records": 1..500, "lease_seconds": 1..600}     (both keys, nothing else)
       -> {"batch_id": "b-…", "items": [{"offset": 48213, "type": "UPSERT", "key": "5911153",
                                         "payload": {…dossier…}, "ts": 1735786800000}, …]}
          the first max_records items, in offset order, that the group has not committed and that are not
          leased; they are leased to this batch for lease_seconds. Nothing left: {"batch_id": null, "items": []}.
  POST /v1/consumers/{group}/commit    {"batch_id": "b-…", "offsets": [48213, …]}   (a subset of the batch)
       -> {"batch_id": "b-…", "committed": 100}. Committed items never come again; the batch's other items
          come again once its lease ends. A batch is committed once, before its lease ends.
  GET  /v1/consumers/{group}/peek?max=1..500
       -> {"items": [...]} the items a fetch would hand out now, without leasing anything (preview).
  Items: UPSERT carries the whole dossier as it stands after the change (a dossier changes several times: a
  later UPSERT of the same key replaces it); TOMBSTONE carries only offset, type, key and ts (the dossier was
  deleted). ts is epoch milliseconds. Payload: Vietnamese camelCase, times ISO 8601 UTC ("…T01:23:00.000Z"),
  numeric status codes, amounts as JSON numbers. Offsets start at 48210 (older events were compacted away).
  Errors are JSON {"error_code": <5 digits>, "message": "..."} with the matching HTTP status:
    40001 body not an object of the right keys   40002 a value of the wrong type or range
    40003 grant_type not client_credentials      40004 client credentials not in the Basic header
    40100 no bearer token   40101 wrong client (REFUSAL)   40102 token expired   40103 token unknown/revoked
    40301 group not allowed  40400 no such path  40401 unknown batch  40501 wrong method
    40901 batch's lease ended (its items come again)   40902 batch already committed
    41501 body not JSON (Content-Type)   42201 offsets not in the batch
  Test options: --token-ttl seconds (default 600); --revoke-at N revokes every token at the Nth data request.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import random
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qs

from tests.vendors import truth as truth_module
from tests.vendors.common import VendorHandler, arguments, serve

VENDOR = "feed_kafka_rest"
CLIENT_ID, CLIENT_SECRET = "onestop-esb-hd", "hub-7Kq2-Wn9x-Tf4e"
REFUSAL = "Xác thực ứng dụng thất bại: client_id hoặc client_secret không đúng"
GROUP_PREFIX = "onestop-"
GROUP = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
FIRST_OFFSET = 48210
MAX_RECORDS = 500
MAX_LEASE_S = 600
JSON_TYPES = ("application/json", "application/vnd.hub.v1+json")
ROUTE = re.compile(r"^/v1/consumers/(?P<group>[^/]+)/(?P<op>records|commit|peek)$")
OPS = {"records": "POST", "commit": "POST", "peek": "GET"}

TRANG_THAI = {1: 0, 2: 1, 4: 2, 5: 8, 6: 9, 9: 3, 10: 4}  # the hub's numeric statuses
KENH = {1: "TRUC_TIEP", 2: "TRUC_TUYEN", 3: "BUU_CHINH"}
DOI_TUONG = {1: "CA_NHAN", 2: "TO_CHUC"}


def utc(iso: str | None) -> str | None:
    if iso is None:
        return None
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def epoch_ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def payload(item: dict[str, Any]) -> dict[str, Any]:
    a = item["applicant"]
    person = a["type"] == 1
    return {
        "id": int(item["source_record_id"]),
        "maHoSo": item["ma_ho_so"],
        "thuTuc": {"maQuocGia": item["procedure_code"], "ten": item["procedure_name"]},
        "linhVuc": {"ma": item["field_code"], "ten": item["field_name"]},
        "coQuanXuLy": {"ma": item["agency_code"], "ten": item["agency_name"]},
        "kenhNop": KENH[item["channel"]],
        "trangThai": TRANG_THAI[item["status"]],
        "trichYeu": item["summary"],
        "chuHoSo": {
            "doiTuong": DOI_TUONG[a["type"]],
            "hoTen": a["name"],
            "giayTo": {"loai": "CCCD", "so": a["id_number"]} if person else None,
            "maSoThue": None if person else a["id_number"],
            "dienThoai": a["phone"],
            "email": a.get("email"),
            "ngaySinh": a.get("birth_date"),
            "diaChi": a["address"],
        },
        "thoiGian": {
            "nop": utc(item.get("submitted_at")),
            "tiepNhan": utc(item["received_at"]),
            "henTra": utc(item["due_at"]),
            "coKetQua": utc(item.get("finished_at")),
            "traKetQua": utc(item.get("returned_at")),
            "capNhat": utc(item["source_updated_at"]),
        },
        "lichSu": [
            {
                "trangThai": TRANG_THAI[h["status"]],
                "luc": utc(h["at"]),
                "nguoiXuLy": h["actor"],
                "ghiChu": h["content"],
            }
            for h in item["history"]
        ],
        "phiLePhi": [
            {"ma": f["code"], "ten": f["name"], "soTien": float(f["amount_vnd"])} for f in item["fees"]
        ],
        "giayToNop": [{"ten": d["name"], "maMau": d["form_code"]} for d in item["documents"]],
    }


def version(item: dict[str, Any], steps: int) -> dict[str, Any]:
    """The dossier as it stood after its first `steps` history events (steps = all: the final state)."""
    if steps >= len(item["history"]):
        return item
    history = item["history"][:steps]
    state = {k: v for k, v in item.items() if k not in ("finished_at", "returned_at")}
    state["history"] = history
    state["status"] = history[-1]["status"]
    state["source_updated_at"] = history[-1]["at"]
    reached = {h["status"]: h["at"] for h in history}
    if 9 in reached:
        state["finished_at"] = reached[9]
    if 10 in reached:
        state["returned_at"] = reached[10]
    return state


def build_log(items: list[dict[str, Any]], deleted: set[str], seed: int) -> list[dict[str, Any]]:
    """The hub's event log: earlier versions of some dossiers, every final version, and a tombstone for each
    deleted one, in time order, with offsets from FIRST_OFFSET."""
    rng = random.Random(f"{VENDOR}:{seed}:log")
    events: list[tuple[int, str, int, dict[str, Any] | None]] = []  # (ts, key, order, payload)
    for item in items:
        key = item["source_record_id"]
        receipt = next(n for n, h in enumerate(item["history"], start=1) if h["status"] == 2)
        earlier = list(range(receipt, len(item["history"])))  # cut after the receipt, before the last step
        cuts = sorted(rng.sample(earlier, min(len(earlier), rng.choice((0, 0, 1, 2)))))
        for order, steps in enumerate([*cuts, len(item["history"])]):
            state = version(item, steps)
            events.append((epoch_ms(state["source_updated_at"]), key, order, payload(state)))
        if key in deleted:
            gone = datetime.fromisoformat(item["source_updated_at"]) + timedelta(
                minutes=rng.randint(60, 10 * 1440)
            )
            events.append((epoch_ms(gone.isoformat()), key, 99, None))
    events.sort(key=lambda e: (e[0], int(e[1]), e[2]))
    log = []
    for n, (ts, key, _order, body) in enumerate(events):
        if body is None:
            log.append({"offset": FIRST_OFFSET + n, "type": "TOMBSTONE", "key": key, "ts": ts})
        else:
            log.append({"offset": FIRST_OFFSET + n, "type": "UPSERT", "key": key, "payload": body, "ts": ts})
    return log


@dataclass
class Batch:
    offsets: list[int]
    expiry: float  # monotonic
    committed: bool = False


@dataclass
class Group:
    done: set[int] = field(default_factory=set)
    leased: dict[int, float] = field(default_factory=dict)  # offset -> monotonic lease end
    batches: dict[str, Batch] = field(default_factory=dict)

    def available(self, log: list[dict[str, Any]], now: float, limit: int) -> list[dict[str, Any]]:
        out = []
        for event in log:
            offset = event["offset"]
            if offset in self.done or self.leased.get(offset, 0) > now:
                continue
            out.append(event)
            if len(out) == limit:
                break
        return out


class HubError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


_tokens: dict[str, float] = {}  # access token -> monotonic expiry
_groups: dict[str, Group] = {}
_lock = threading.Lock()


class Handler(VendorHandler):
    server_version = "hub-gateway/2.3"
    log: ClassVar[list[dict[str, Any]]] = []
    deleted: ClassVar[list[str]] = []

    @classmethod
    def load_truth(cls, vendor: str, options: argparse.Namespace) -> list[dict[str, Any]]:
        """`count` surviving dossiers; a tenth more were published and then deleted (tombstones)."""
        extra = max(3, options.count // 10)
        items = truth_module.generate(vendor, options.seed, options.count + extra)
        rng = random.Random(f"{vendor}:{options.seed}:deleted")
        gone = {items[i]["source_record_id"] for i in rng.sample(range(len(items)), extra)}
        cls.deleted = sorted(gone, key=int)
        cls.log = build_log(items, gone, options.seed)
        return [i for i in items if i["source_record_id"] not in gone]

    def vendor_control(self, method: str) -> bool:
        if method == "GET" and self.route == "/_vendor/deleted":
            self.send_json(self.deleted)
            return True
        return False

    def error(self, exc: HubError) -> None:
        body = {"error_code": exc.code, "message": exc.message}
        headers = {"WWW-Authenticate": 'Bearer realm="hub"'} if exc.status == 401 else None
        self.refuse(
            exc.status, f"{exc.code} {exc.message}", lambda: self.send_json(body, exc.status, headers)
        )

    def vendor(self, method: str) -> None:
        try:
            if self.route == "/oauth2/token":
                if method != "POST":
                    raise HubError(405, 40501, f"Phương thức {method} không được hỗ trợ cho {self.route}")
                self.token()
                return
            match = ROUTE.match(self.route)
            if match is None:
                raise HubError(404, 40400, f"Không có tài nguyên {self.route}")
            op, group = match["op"], match["group"]
            if method != OPS[op]:
                raise HubError(405, 40501, f"Phương thức {method} không được hỗ trợ cho {self.route}")
            self.authorize()
            if not GROUP.match(group) or not group.startswith(GROUP_PREFIX):
                raise HubError(403, 40301, f"Ứng dụng {CLIENT_ID} không được đọc nhóm tiêu thụ '{group}'")
            if op == "peek":
                self.peek(group)
            elif op == "records":
                self.fetch(group, self.body({"max_records", "lease_seconds"}))
            else:
                self.commit(group, self.body({"batch_id", "offsets"}))
        except HubError as exc:
            self.error(exc)

    # --- auth -----------------------------------------------------------------------------------------------
    def token(self) -> None:
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            raise HubError(415, 41501, "Yêu cầu cấp token phải là application/x-www-form-urlencoded")
        form = parse_qs(self.raw_body.decode("utf-8", "replace"), keep_blank_values=True)
        if "client_id" in form or "client_secret" in form:
            raise HubError(400, 40004, "Thông tin ứng dụng phải gửi trong tiêu đề Authorization: Basic")
        if form.get("grant_type") != ["client_credentials"]:
            raise HubError(400, 40003, "grant_type phải là client_credentials")
        if set(form) - {"grant_type", "scope"} or form.get("scope", ["feed.read"]) != ["feed.read"]:
            raise HubError(400, 40002, "Chỉ chấp nhận grant_type và scope=feed.read")
        header = self.headers.get("Authorization") or ""
        try:
            decoded = base64.b64decode(header.removeprefix("Basic "), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        if not header.startswith("Basic ") or decoded.partition(":")[::2] != (CLIENT_ID, CLIENT_SECRET):
            raise HubError(401, 40101, REFUSAL)
        token = secrets.token_urlsafe(32)
        ttl = self.options.token_ttl
        with _lock:
            _tokens[token] = time.monotonic() + ttl
        self.send_json(
            {"access_token": token, "token_type": "Bearer", "expires_in": int(ttl), "scope": "feed.read"}
        )

    def authorize(self) -> None:
        header = self.headers.get("Authorization") or ""
        if not header.startswith("Bearer "):
            raise HubError(401, 40100, "Thiếu access token (Authorization: Bearer)")
        with _lock:
            expiry = _tokens.get(header[7:])
        if expiry is not None and self.revoke_due():
            with _lock:
                _tokens.clear()
            expiry = None
        if expiry is None:
            raise HubError(401, 40103, "Access token không hợp lệ hoặc đã bị thu hồi")
        if expiry < time.monotonic():
            raise HubError(401, 40102, "Access token đã hết hạn, hãy xin token mới")

    # --- the feed -------------------------------------------------------------------------------------------
    def body(self, keys: set[str]) -> dict[str, Any]:
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type not in JSON_TYPES:
            raise HubError(415, 41501, f"Content-Type phải là {' hoặc '.join(JSON_TYPES)}")
        if self.query:
            raise HubError(400, 40001, f"Không nhận tham số trên URL: {', '.join(sorted(self.query))}")
        try:
            body = self.json_body()
        except ValueError:
            raise HubError(400, 40001, "Thân yêu cầu không phải JSON hợp lệ") from None
        if not isinstance(body, dict) or set(body) != keys:
            got = ", ".join(sorted(body)) if isinstance(body, dict) else type(body).__name__
            raise HubError(
                400, 40001, f"Thân yêu cầu gồm đúng các trường {', '.join(sorted(keys))} (nhận: {got})"
            )
        return body

    def fetch(self, group: str, body: dict[str, Any]) -> None:
        size, lease = body["max_records"], body["lease_seconds"]
        if type(size) is not int or not 1 <= size <= MAX_RECORDS:
            raise HubError(400, 40002, f"max_records phải là số nguyên từ 1 đến {MAX_RECORDS}")
        if type(lease) is not int or not 1 <= lease <= MAX_LEASE_S:
            raise HubError(400, 40002, f"lease_seconds phải là số nguyên từ 1 đến {MAX_LEASE_S}")
        with _lock:
            state = _groups.setdefault(group, Group())
            now = time.monotonic()
            items = state.available(self.log, now, size)
            batch_id = f"b-{secrets.token_hex(8)}" if items else None
            if batch_id is not None:
                state.batches[batch_id] = Batch([i["offset"] for i in items], now + lease)
                for i in items:
                    state.leased[i["offset"]] = now + lease
        self.send_json({"batch_id": batch_id, "items": items})

    def commit(self, group: str, body: dict[str, Any]) -> None:
        batch_id, offsets = body["batch_id"], body["offsets"]
        if not isinstance(batch_id, str):
            raise HubError(400, 40002, "batch_id phải là chuỗi")
        if not isinstance(offsets, list) or not offsets or any(type(o) is not int for o in offsets):
            raise HubError(400, 40002, "offsets phải là danh sách số nguyên, không rỗng")
        with _lock:
            state = _groups.setdefault(group, Group())
            batch = state.batches.get(batch_id)
            if batch is None:
                raise HubError(404, 40401, f"Không tìm thấy lô {batch_id} trong nhóm {group}")
            if batch.committed:
                raise HubError(409, 40902, f"Lô {batch_id} đã được xác nhận")
            if batch.expiry < time.monotonic():
                raise HubError(
                    409,
                    40901,
                    f"Lô {batch_id} đã hết thời hạn thuê; các bản ghi chưa xác nhận sẽ được giao lại",
                )
            foreign = sorted(set(offsets) - set(batch.offsets))
            if foreign:
                raise HubError(
                    422, 42201, f"Offset không thuộc lô {batch_id}: {', '.join(map(str, foreign))}"
                )
            batch.committed = True
            state.done.update(offsets)
            for offset in offsets:
                state.leased.pop(offset, None)
        self.send_json({"batch_id": batch_id, "committed": len(set(offsets))})

    def peek(self, group: str) -> None:
        if set(self.query) != {"max"} or len(self.query["max"]) != 1:
            raise HubError(400, 40001, "peek nhận đúng một tham số max")
        text = self.query["max"][0]
        if not text.isdigit() or not 1 <= int(text) <= MAX_RECORDS:
            raise HubError(400, 40002, f"max phải là số nguyên từ 1 đến {MAX_RECORDS}")
        with _lock:
            state = _groups.get(group) or Group()
            items = state.available(self.log, time.monotonic(), int(text))
        self.send_json({"items": items})


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--token-ttl", type=float, default=600, help="seconds an access token lives")


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0], options))
