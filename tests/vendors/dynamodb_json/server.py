"""A district's dossiers in a DynamoDB table (a Node.js app's single-table design), read with the DynamoDB
low-level API's Scan, as DynamoDB (or a DynamoDB-compatible store behind the province's gateway) answers it.

Contract (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Scan.html):
  POST /   X-Amz-Target: DynamoDB_20120810.Scan   Content-Type: application/x-amz-json-1.0
           X-Api-Key: <the gateway's static key> (in place of SigV4)
       {"TableName": "MotCua_HoSo", "Limit": ≤ 100,
        "FilterExpression": "#u BETWEEN :from AND :to", "ExpressionAttributeNames": {"#u": "updatedAt"},
        "ExpressionAttributeValues": {":from": {"S": "<ISO UTC>"}, ":to": {"S": "<ISO UTC>"}},
        "ExclusiveStartKey": <the previous answer's LastEvaluatedKey, sent back as it came>}
    -> {"Items": [{<attribute>: {"S"|"N"|"BOOL"|"NULL"|"L"|"M"|"SS": …}}], "Count": n, "ScannedCount": n,
        "LastEvaluatedKey": {"pk": {"S": "HOSO#<id>"}, "sk": {"S": "META"}}}
  Limit counts the items evaluated, before the filter: a page may hold fewer items than Limit, or none, and
  still have a LastEvaluatedKey; only an answer without one is the last (an answer that stopped at Limit on the
  table's last item still has one, and the next is empty). Items come in the table's hash order, not by time.
  Times are `Date.toISOString()`: UTC, milliseconds, `Z`. Numbers are DynamoDB's N: decimal text. A value the app
  never set is absent, one it cleared is {"NULL": true}.
  Errors are DynamoDB's, HTTP 400 with {"__type": "com.amazonaws.dynamodb.v20120810#<Name>", "message": …}:
  UnrecognizedClientException for a wrong key, ValidationException for a request it cannot take (an unknown
  key, a Limit out of range, an ExclusiveStartKey that is not the table's key), SerializationException for a
  value of the wrong JSON type (an N sent as a number).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from tests.vendors.common import VendorHandler, arguments, serve, updated

VENDOR = "dynamodb_json"
API_KEY = "mc-hd-8f3a1c2e9b7d4"
TABLE = "MotCua_HoSo"
REFUSAL = "The security token included in the request is invalid."
WRONG_CONNECTION = {"password": "sai-khoa-0000"}
TARGET = "DynamoDB_20120810.Scan"
PREFIX = "com.amazonaws.dynamodb.v20120810#"
MAX_LIMIT = 100
KEYS = {"TableName", "Limit", "FilterExpression", "ExpressionAttributeNames", "ExpressionAttributeValues",
        "ExclusiveStartKey", "ConsistentRead", "ReturnConsumedCapacity"}  # fmt: skip
FILTER = "#u BETWEEN :from AND :to"


class DynamoError(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


def iso_utc(value: str | None) -> str | None:
    """Date.toISOString(): UTC, milliseconds, Z."""
    if value is None:
        return None
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def s(value: str | None) -> dict[str, Any]:
    return {"NULL": True} if value is None else {"S": value}


def n(value: int) -> dict[str, Any]:
    return {"N": str(value)}


def item_of(item: dict[str, Any]) -> dict[str, Any]:
    a = item["applicant"]
    out: dict[str, Any] = {
        "pk": s(f"HOSO#{item['source_record_id']}"),
        "sk": s("META"),
        "maHoSo": s(item["ma_ho_so"]),
        "thuTuc": {"M": {"ma": s(item["procedure_code"]), "ten": s(item["procedure_name"])}},
        "linhVuc": {"M": {"ma": s(item["field_code"]), "ten": s(item["field_name"])}},
        "donVi": {"M": {"ma": s(item["agency_code"]), "ten": s(item["agency_name"])}},
        "kenhNop": n(item["channel"]),
        "trangThai": n(item["status"]),
        "trichYeu": s(item["summary"]),
        "nguoiNop": {"M": {
            "loai": n(a["type"]), "hoTen": s(a["name"]), "soGiayTo": s(a["id_number"]),
            "loaiGiayTo": s("CCCD" if a.get("id_type") == 1 else None), "dienThoai": s(a["phone"]),
            "email": s(a.get("email")), "diaChi": s(a["address"]),
            **({"ngaySinh": s(a["birth_date"])} if "birth_date" in a else {}),
        }},
        "ngayNop": s(iso_utc(item.get("submitted_at"))),
        "ngayTiepNhan": s(iso_utc(item["received_at"])),
        "hanTra": s(iso_utc(item["due_at"])),
        "updatedAt": s(iso_utc(item["source_updated_at"])),
        "daXoa": {"BOOL": False},
        "nhan": {"SS": ["mot-cua", item["field_code"].lower()]},
        "quaTrinh": {"L": [{"M": {"trangThai": n(h["status"]), "thoiDiem": s(iso_utc(h["at"])),
                                  "canBo": s(h["actor"]), "noiDung": s(h["content"])}} for h in item["history"]]},
        "lePhi": {"L": [{"M": {"ma": s(f["code"]), "ten": s(f["name"]), "soTien": n(f["amount_vnd"])}}
                        for f in item["fees"]]},
        "giayTo": {"L": [{"M": {"ten": s(d["name"]), "maMau": s(d["form_code"])}} for d in item["documents"]]},
        "phienBan": {"N": "3"},
    }  # fmt: skip
    if "finished_at" in item:
        out["ngayCoKetQua"] = s(iso_utc(item["finished_at"]))
    if "returned_at" in item:
        out["ngayTra"] = s(iso_utc(item["returned_at"]))
    return out


def hash_order(item: dict[str, Any]) -> str:
    """The table's scan order: by the partition key's hash, as DynamoDB's partitions hold them."""
    return hashlib.md5(f"HOSO#{item['source_record_id']}".encode()).hexdigest()


def misfit(item: dict[str, Any], n: int) -> dict[str, Any]:
    """A typed value an app's bug or a hand edit in the console leaves: two type keys, an N that is no number."""
    if n % 2 == 0:
        return {**item, "trangThai": {"N": item["trangThai"]["N"], "S": item["trangThai"]["N"]}}
    return {**item, "kenhNop": {"N": "hai"}}


class Handler(VendorHandler):
    def item(self, truth_item: dict[str, Any], ordered: list[dict[str, Any]]) -> dict[str, Any]:
        """The item as the table holds it; with `--corrupt N`, the first N in scan order hold a misfit."""
        position = ordered.index(truth_item)
        out = item_of(truth_item)
        return misfit(out, position) if position < self.options.corrupt else out

    def fail(self, name: str, message: str) -> None:
        body = {"__type": PREFIX + name, "message": message}
        self.refuse(400, name, lambda: self.send_json(body, 400, {"x-amzn-RequestId": "R" * 52}))

    def vendor(self, method: str) -> None:
        if method != "POST" or self.route != "/":
            self.send_body(404, b"<UnknownOperationException/>", "application/x-amz-json-1.0")
            return
        if self.headers.get("X-Api-Key") != API_KEY:
            self.fail("UnrecognizedClientException", REFUSAL)
            return
        if self.headers.get("X-Amz-Target") != TARGET:
            self.fail("UnknownOperationException", "")
            return
        if self.stats.count_data_request() == self.options.throttle_at:
            # throttled: the table's capacity is spent for this second (not a refusal of the request)
            body = {"__type": PREFIX + "ProvisionedThroughputExceededException",
                    "message": "The level of configured provisioned throughput for the table was exceeded. "
                               "Consider increasing your provisioning level with the UpdateTable API."}  # fmt: skip
            self.send_json(body, 400)
            return
        if (self.headers.get("Content-Type") or "").split(";")[0] != "application/x-amz-json-1.0":
            self.fail("SerializationException", "Start of structure or map found where not expected.")
            return
        try:
            found = self.scan(self.json_body())
        except DynamoError as exc:
            self.fail(exc.name, str(exc))
            return
        except (ValueError, KeyError, TypeError) as exc:
            self.fail("SerializationException", f"{type(exc).__name__}: {exc}")
            return
        body = json.dumps(found, ensure_ascii=False).encode()
        self.send_body(200, body, "application/x-amz-json-1.0")

    def scan(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise DynamoError("SerializationException", "Start of list found where not expected")
        if set(body) - KEYS:
            raise DynamoError("ValidationException", f"Unknown parameter {sorted(set(body) - KEYS)[0]}")
        if body.get("TableName") != TABLE:
            raise DynamoError("ResourceNotFoundException", "Requested resource not found")
        limit = body.get("Limit")
        if type(limit) is not int:
            raise DynamoError("SerializationException", "NUMBER_VALUE cannot be converted to Integer")
        if not 1 <= limit <= MAX_LIMIT:
            raise DynamoError(
                "ValidationException", f"1 validation error detected: Value '{limit}' at 'limit'"
            )
        if body.get("FilterExpression") != FILTER or body.get("ExpressionAttributeNames") != {
            "#u": "updatedAt"
        }:
            raise DynamoError("ValidationException", "This server's contract takes one filter on updatedAt")
        values = body.get("ExpressionAttributeValues") or {}
        bounds = []
        for name in (":from", ":to"):
            value = values.get(name)
            if not isinstance(value, dict) or list(value) != ["S"] or not isinstance(value["S"], str):
                raise DynamoError("ValidationException", f"ExpressionAttributeValues {name} must be an S")
            bounds.append(datetime.strptime(value["S"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC))
        ordered = sorted(self.truth, key=hash_order)
        start = body.get("ExclusiveStartKey")
        at = 0
        if start is not None:
            if (
                not isinstance(start, dict)
                or set(start) != {"pk", "sk"}
                or start["sk"] != {"S": "META"}
                or not isinstance(start["pk"], dict)
                or list(start["pk"]) != ["S"]
            ):
                raise DynamoError("ValidationException", "The provided starting key is invalid")
            keys = [f"HOSO#{i['source_record_id']}" for i in ordered]
            if start["pk"]["S"] not in keys:
                raise DynamoError("ValidationException", "The provided starting key is invalid")
            at = keys.index(start["pk"]["S"]) + 1
        evaluated = ordered[at : at + limit]
        items = [self.item(i, ordered) for i in evaluated if bounds[0] <= updated(i) <= bounds[1]]
        answer: dict[str, Any] = {"Items": items, "Count": len(items), "ScannedCount": len(evaluated)}
        if len(evaluated) == limit:
            last = evaluated[-1]
            answer["LastEvaluatedKey"] = {"pk": s(f"HOSO#{last['source_record_id']}"), "sk": s("META")}
        return answer


def extra(parser: Any) -> None:
    parser.add_argument(
        "--corrupt", type=int, default=0, help="the first N items in scan order hold a misfit"
    )
    parser.add_argument("--throttle-at", type=int, default=0, help="the Nth data request is throttled (400)")


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0], extra))
