"""A district's one-stop app (Node.js, Mongoose) keeps its dossiers in MongoDB Atlas, read through the Atlas Data
API's `find` action, as the Data API answered it: documents in MongoDB Extended JSON v2.

Contract (https://www.mongodb.com/docs/atlas/app-services/data-api/openapi, …/reference/mongodb-extended-json/):
  POST /app/<app id>/endpoint/data/v1/action/find
      apiKey: <API key>        (`api-key` is read too, as the Data API's first release named it)
      Content-Type: application/ejson (or application/json)
      Accept: application/ejson  -> canonical EJSON; application/json -> relaxed EJSON
    {"dataSource": "mongodb-atlas", "database": "motcua", "collection": "hoSo",
     "filter": {"updatedAt": {"$gte": {"$date": "…"}, "$lt": {"$date": "…"}}},
     "sort": {"updatedAt": 1, "_id": 1}, "skip": 200, "limit": 100}
    -> {"documents": [...]}
  Canonical EJSON wraps what JSON cannot say and writes the rest plain: `_id` {"$oid": "…"}, dates
  {"$date": {"$numberLong": "<ms since 1970>"}}, 32-bit integers {"$numberInt": "5"}, 64-bit ones
  {"$numberLong": "…"}, Decimal128 amounts {"$numberDecimal": "150000.00"}; texts, nested documents and arrays of
  them plain. Relaxed EJSON writes numbers plain and dates as {"$date": "<ISO-8601, Z>"}.
  The filter is read as MongoDB reads it: its dates in EJSON ({"$date": "<ISO-8601>"} or {"$date": {"$numberLong":
  "…"}}, the milliseconds a string: a JSON number there is no EJSON, 400); a date written as a plain text compares with no Date (BSON's type order) and matches nothing — an empty
  `documents`, no error. Without a sort the documents come in natural order, which moves as documents grow (here:
  each request another). A limit past 50000, a skip or limit that is no integer: 400 InvalidParameter. A missing
  or wrong API key: 401 {"error": "invalid session: error finding user for endpoint", "error_code":
  "InvalidSession", "link": "…"}.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tests.vendors.common import VendorHandler, arguments, serve, updated

VENDOR = "mongo_ejson"
APP = "motcua-tuky-abcde"
ROUTE = f"/app/{APP}/endpoint/data/v1/action/find"
API_KEY = "tkMc7Qx2LwP9vRzE4nB6hJ8sDa1Fg3YkUo5Ti0Ce2WqXr7Mb9NpLvZs4Hd6Gj8Ka"
REFUSAL = "invalid session: error finding user for endpoint"
WRONG_CONNECTION = {"password": "tkSaiKhoa0000"}
DATA_SOURCE, DATABASE, COLLECTION = "mongodb-atlas", "motcua", "hoSo"
KEYS = {"dataSource", "database", "collection", "filter", "projection", "sort", "skip", "limit"}
MAX_LIMIT = 50000
LINK = f"https://services.cloud.mongodb.com/groups/64f0c0ffee/apps/{APP}/logs?co_id=6751a3f0c2b9e41d8c0f1a2b"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class DataApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def oid(item: dict[str, Any]) -> str:
    """An ObjectId: 4 bytes of time (the receipt), 8 of a hash (stable per dossier)."""
    seconds = int(datetime.fromisoformat(item["received_at"]).timestamp())
    return f"{seconds:08x}" + hashlib.sha1(item["source_record_id"].encode()).hexdigest()[:16]


class Ejson:
    """Values as Extended JSON v2 writes them, canonical or relaxed."""

    def __init__(self, canonical: bool) -> None:
        self.canonical = canonical

    def date(self, value: str | None) -> dict[str, Any] | None:
        if value is None:
            return None
        at = datetime.fromisoformat(value)
        if self.canonical:
            return {"$date": {"$numberLong": str(int((at - EPOCH).total_seconds() * 1000))}}
        return {"$date": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}

    def int32(self, value: int) -> Any:
        return {"$numberInt": str(value)} if self.canonical else value

    def int64(self, value: int) -> Any:
        return {"$numberLong": str(value)} if self.canonical else value

    @staticmethod
    def decimal(value: int) -> dict[str, str]:
        return {"$numberDecimal": f"{Decimal(value):.2f}"}  # relaxed keeps a Decimal128 wrapped too


def document_of(item: dict[str, Any], ejson: Ejson) -> dict[str, Any]:
    a = item["applicant"]
    applicant: dict[str, Any] = {
        "loai": ejson.int32(a["type"]),
        "hoTen": a["name"],
        "giayTo": {"loai": "CCCD" if a.get("id_type") == 1 else None, "so": a["id_number"]},
        "dienThoai": a["phone"],
        "diaChi": a["address"],
    }
    if "email" in a:
        applicant["email"] = a["email"]
    if "birth_date" in a:
        applicant["ngaySinh"] = a["birth_date"]  # kept as the form's text, as the app's schema says String
    document: dict[str, Any] = {
        "_id": {"$oid": oid(item)},
        "soHoSo": ejson.int64(int(item["source_record_id"])),
        "maHoSo": item["ma_ho_so"],
        "thuTuc": {"ma": item["procedure_code"], "ten": item["procedure_name"]},
        "linhVuc": {"ma": item["field_code"], "ten": item["field_name"]},
        "coQuan": {"ma": item["agency_code"], "ten": item["agency_name"]},
        "kenhNop": ejson.int32(item["channel"]),
        "trangThai": ejson.int32(item["status"]),
        "trichYeu": item["summary"],
        "nguoiNop": applicant,
        "ngayTiepNhan": ejson.date(item["received_at"]),
        "hanTra": ejson.date(item["due_at"]),
        "quaTrinh": [
            {
                "trangThai": ejson.int32(h["status"]),
                "thoiDiem": ejson.date(h["at"]),
                "canBo": h["actor"],
                "noiDung": h["content"],
            }
            for h in item["history"]
        ],
        "lePhi": [
            {"ma": f["code"], "ten": f["name"], "soTien": ejson.decimal(f["amount_vnd"])}
            for f in item["fees"]
        ],
        "giayTo": [{"ten": d["name"], "maMau": d["form_code"]} for d in item["documents"]],
        "createdAt": ejson.date(item["received_at"]),
        "updatedAt": ejson.date(item["source_updated_at"]),
        "__v": ejson.int32(len(item["history"])),
    }
    for key, field in (
        ("ngayNop", "submitted_at"),
        ("ngayCoKetQua", "finished_at"),
        ("ngayTra", "returned_at"),
    ):
        if field in item:
            document[key] = ejson.date(item[field])
    return document


def misfit(document: dict[str, Any], n: int) -> dict[str, Any]:
    """A value a hand edit in Compass or a script's bug leaves: a $date whose milliseconds are no number, an
    integer written with two type keys."""
    if n % 2 == 0:
        return {**document, "ngayTiepNhan": {"$date": {"$numberLong": "hôm qua"}}}
    return {**document, "trangThai": {"$numberInt": "4", "$numberLong": "4"}}


def read_date(value: Any) -> datetime | None:
    """A date in a filter, as EJSON writes it; None for anything else (a plain text: no Date)."""
    if not isinstance(value, dict) or list(value) != ["$date"]:
        return None
    inner = value["$date"]
    if isinstance(inner, str):
        try:
            at = datetime.fromisoformat(inner)
        except ValueError:
            raise DataApiError(400, "InvalidParameter", f"invalid $date: {inner}") from None
        return at if at.tzinfo else None
    long = inner.get("$numberLong") if isinstance(inner, dict) and list(inner) == ["$numberLong"] else None
    if isinstance(long, str) and long.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(long) / 1000, UTC)
    # EJSON's parsers refuse a $numberLong that is not a string (the Go driver's "expected $numberLong field to
    # have string value"), as the Data API does
    raise DataApiError(400, "InvalidParameter", f"invalid extended JSON $date: {json.dumps(inner)[:100]}")


class Handler(VendorHandler):
    def fail(self, exc: DataApiError) -> None:
        body = {"error": str(exc), "error_code": exc.code, "link": LINK}
        self.refuse(exc.status, exc.code, lambda: self.send_json(body, exc.status))

    def vendor(self, method: str) -> None:
        try:
            if method != "POST" or self.route != ROUTE:
                raise DataApiError(
                    404, "FunctionNotFound", f"function not found: '{self.route.rsplit('/', 1)[-1]}'"
                )
            key = self.headers.get("apiKey") or self.headers.get("api-key")
            if key != API_KEY:
                raise DataApiError(401, "InvalidSession", REFUSAL)
            kind = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            if kind not in ("application/json", "application/ejson"):
                raise DataApiError(400, "InvalidParameter", "unsupported content type")
            try:
                body = self.json_body()
            except ValueError:
                raise DataApiError(400, "InvalidParameter", "invalid json") from None
            documents = self.find(body)
        except DataApiError as exc:
            self.fail(exc)
            return
        accept = (self.headers.get("Accept") or "application/json").split(";")[0].strip()
        ejson = Ejson(canonical=accept == "application/ejson")
        self.send_body(200, json.dumps({"documents": [self.document(i, documents, ejson) for i in documents]},
                                       ensure_ascii=False).encode(), f"{accept}; charset=utf-8")  # fmt: skip

    def document(self, item: dict[str, Any], found: list[dict[str, Any]], ejson: Ejson) -> dict[str, Any]:
        out = document_of(item, ejson)
        ordered = sorted(self.truth, key=lambda i: (updated(i), oid(i)))
        position = ordered.index(item)
        return misfit(out, position) if position < self.options.corrupt else out

    def find(self, body: Any) -> list[dict[str, Any]]:
        if not isinstance(body, dict):
            raise DataApiError(400, "InvalidParameter", "invalid json")
        if set(body) - KEYS:
            raise DataApiError(400, "InvalidParameter", f"invalid parameter: {sorted(set(body) - KEYS)[0]}")
        for name in ("dataSource", "database", "collection"):
            if not isinstance(body.get(name), str):
                raise DataApiError(400, "InvalidParameter", f"must specify a {name}")
        if body["dataSource"] != DATA_SOURCE:
            raise DataApiError(404, "DataSourceNotFound", f'cannot find data source "{body["dataSource"]}"')
        for name in ("skip", "limit"):
            if name in body and (type(body[name]) is not int or body[name] < 0):
                raise DataApiError(400, "InvalidParameter", f"{name} must be a non-negative integer")
        limit = body.get("limit", 1000)
        if limit > MAX_LIMIT:
            raise DataApiError(400, "InvalidParameter", f"limit must be less than or equal to {MAX_LIMIT}")
        if body["database"] != DATABASE or body["collection"] != COLLECTION:
            return []  # MongoDB: a collection that does not exist is an empty one
        kept = [i for i in self.truth if self.matches(i, body.get("filter") or {})]
        sort = body.get("sort")
        if sort is None:
            salt = str(self.stats.count_data_request())  # natural order moves as documents grow
            kept.sort(key=lambda i: hashlib.md5((salt + i["source_record_id"]).encode()).hexdigest())
        elif sort == {"updatedAt": 1, "_id": 1}:
            kept.sort(key=lambda i: (updated(i), oid(i)))
        else:
            raise DataApiError(
                400, "InvalidParameter", "this collection is sorted by {updatedAt: 1, _id: 1} only"
            )
        skip = body.get("skip", 0)
        return kept[skip : skip + limit]

    @staticmethod
    def matches(item: dict[str, Any], query: Any) -> bool:
        if not isinstance(query, dict) or set(query) - {"updatedAt"}:
            raise DataApiError(400, "InvalidParameter", "this server's contract filters on updatedAt only")
        condition = query.get("updatedAt")
        if condition is None:
            return True
        if (
            not isinstance(condition, dict)
            or not condition
            or set(condition) - {"$gte", "$gt", "$lt", "$lte"}
        ):
            raise DataApiError(400, "InvalidParameter", "updatedAt: $gte, $gt, $lt, $lte of dates")
        at = updated(item)
        for op, value in condition.items():
            bound = read_date(value)
            if bound is None:
                return False  # a text against a Date: BSON's type order, no match
            if not {"$gte": at >= bound, "$gt": at > bound, "$lt": at < bound, "$lte": at <= bound}[op]:
                return False
        return True


def extra(parser: Any) -> None:
    parser.add_argument(
        "--corrupt", type=int, default=0, help="the first N documents in sort order hold a misfit"
    )


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0], extra))
