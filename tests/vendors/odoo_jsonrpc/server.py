"""An Odoo 17 one-stop module, read through Odoo's external API over JSON-RPC: log in for the user's id, then
call `web_search_read` on the dossier model with the id and the password in every call, as Odoo wants them.

Contract (Odoo's JSON-RPC, /jsonrpc):
  {"jsonrpc": "2.0", "method": "call", "params": {"service": "common", "method": "login",
   "args": [<db>, <login>, <password>]}, "id": n}
    -> {"jsonrpc": "2.0", "id": n, "result": <uid, a number>}, or "result": false for a wrong login or password
  {"jsonrpc": "2.0", "method": "call", "params": {"service": "object", "method": "execute_kw", "args": [<db>,
   <uid>, <password>, "motcua.ho_so", "web_search_read", [<domain>], {"specification": {...}, "offset": n,
   "limit": ≤ 200, "order": "write_date asc, id asc"}]}, "id": n}
    -> {"result": {"length": <count>, "records": [...]}}: each record holds what the specification names; a
       many2one as {"id", "display_name"}, a one2many as the list of its records (their own specification)
  The domain is [["write_date", ">=", "<UTC, YYYY-MM-DD HH:MM:SS>"], ["write_date", "<", "<same>"]]; Odoo keeps
  and answers datetimes as naive UTC text; an empty field is `false` (text, dates, many2one alike); selections
  are their keys; money is a float. Errors come in HTTP 200 as {"error": {"code": 200, "message": "Odoo Server
  Error", "data": {"name": "odoo.exceptions.AccessDenied", "message": "Access Denied", "debug": "Traceback…"}}}:
  AccessDenied for a wrong uid or password, ValidationError for a domain or a specification it cannot read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.vendors.common import VendorHandler, arguments, serve, updated

VENDOR = "odoo_jsonrpc"
DB = "motcua_ninhgiang"
USER, PASSWORD, UID = "esb@ninhgiang.haiduong.gov.vn", "0doo-Api-Key-7f3c9a", 7
REFUSAL = '"result": false'  # Odoo's login says no more than that
MODEL = "motcua.ho_so"
MAX_LIMIT = 200
UTC_TEXT = "%Y-%m-%d %H:%M:%S"
KENH = {1: "truc_tiep", 2: "truc_tuyen", 3: "buu_chinh"}
TRANG_THAI = {1: "moi", 2: "da_tiep_nhan", 4: "dang_xu_ly", 5: "bo_sung", 6: "nghia_vu_tai_chinh", 9: "co_ket_qua",
              10: "da_tra"}  # fmt: skip
LOAI = {1: "cong_dan", 2: "to_chuc"}


def odoo_time(iso: str | None) -> str | bool:
    return False if iso is None else datetime.fromisoformat(iso).astimezone(UTC).strftime(UTC_TEXT)


def or_false(value: Any) -> Any:
    return False if value in (None, "") else value


def record(item: dict[str, Any], n: int) -> dict[str, Any]:
    """The dossier as web_search_read answers it for the full specification."""
    a, rid = item["applicant"], int(item["source_record_id"])
    return {
        "id": rid, "name": item["ma_ho_so"], "write_date": odoo_time(item["source_updated_at"]),
        "thu_tuc_id": {"id": 1000 + n % 97, "display_name": item["procedure_name"]}, "ma_thu_tuc": item["procedure_code"],
        "linh_vuc_id": {"id": 200 + n % 13, "display_name": item["field_name"]}, "ma_linh_vuc": item["field_code"],
        "co_quan_id": {"id": 30 + n % 7, "display_name": item["agency_name"]}, "ma_co_quan": item["agency_code"],
        "kenh_nop": KENH[item["channel"]], "state": TRANG_THAI[item["status"]], "trich_yeu": or_false(item["summary"]),
        "loai_nguoi_nop": LOAI[a["type"]], "nguoi_nop": a["name"], "loai_giay_to": "cccd" if a.get("id_type") == 1 else False,
        "so_giay_to": a["id_number"], "dien_thoai": or_false(a["phone"]), "email": or_false(a.get("email")),
        "ngay_sinh": or_false(a.get("birth_date")), "dia_chi": or_false(a["address"]),
        "ngay_nop": odoo_time(item.get("submitted_at")), "ngay_tiep_nhan": odoo_time(item["received_at"]),
        "ngay_hen_tra": odoo_time(item["due_at"]), "ngay_co_ket_qua": odoo_time(item.get("finished_at")),
        "ngay_tra": odoo_time(item.get("returned_at")),
        "qua_trinh_ids": [{"id": rid * 100 + k, "state": TRANG_THAI[h["status"]], "thoi_diem": odoo_time(h["at"]),
                           "can_bo": or_false(h["actor"]), "noi_dung": or_false(h["content"])}
                          for k, h in enumerate(item["history"])],
        "le_phi_ids": [{"id": rid * 100 + k, "ma": or_false(f["code"]), "ten": f["name"], "so_tien": float(f["amount_vnd"])}
                       for k, f in enumerate(item["fees"])],
        "giay_to_ids": [{"id": rid * 100 + k, "ten": d["name"], "ma_mau": or_false(d["form_code"])}
                        for k, d in enumerate(item["documents"])],
    }  # fmt: skip


def selected(value: Any, spec: dict[str, Any]) -> Any:
    """What web_search_read answers of a value for a specification: only the fields it names."""
    if isinstance(value, list):
        return [selected(v, spec) for v in value]
    if isinstance(value, dict):
        unknown = set(spec) - set(value)
        if unknown:
            raise Invalid(f"Invalid field {sorted(unknown)[0]!r} on model {MODEL!r}")
        fields = {
            k: selected(value[k], s.get("fields", {})) if isinstance(s, dict) and s else value[k]
            for k, s in spec.items()
        }
        return {"id": value["id"], **fields} if "id" in value else fields  # Odoo always answers the id
    return value


class Invalid(Exception):
    pass


class OdooError(Exception):
    """An exception Odoo raises inside a call: its class's dotted name and its message."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name, self.message = name, message


def execute_kw(truth: list[dict[str, Any]], args: list[Any]) -> dict[str, Any]:
    """execute_kw(db, uid, password, model, "web_search_read", [domain], {specification, offset, limit, order}),
    whichever protocol carried it (JSON-RPC here, XML-RPC in tests/vendors/odoo_xmlrpc)."""
    db, uid, password, model, method, positional, keywords = (*args, *[None] * 7)[:7]
    if db != DB or uid != UID or password != PASSWORD:  # the uid is a number: "7" is another user
        raise OdooError("odoo.exceptions.AccessDenied", "Access Denied")
    if (model, method) != (MODEL, "web_search_read") or not isinstance(keywords, dict):
        raise OdooError("odoo.exceptions.ValidationError", f"Object {model} has no method {method}")
    try:
        (domain,) = positional
        bounds = {op: datetime.strptime(value, UTC_TEXT).replace(tzinfo=UTC)
                  for field, op, value in domain if field == "write_date"}  # fmt: skip
        if set(bounds) != {">=", "<"} or keywords.get("order") != "write_date asc, id asc":
            raise Invalid("the domain bounds write_date (>=, <) and the order is 'write_date asc, id asc'")
        offset, limit = int(keywords.get("offset", 0)), int(keywords.get("limit", 80))
        if not 0 < limit <= MAX_LIMIT or offset < 0:
            raise Invalid(f"limit 1..{MAX_LIMIT}")
        found = sorted((i for i in truth if bounds[">="] <= updated(i) < bounds["<"]),
                       key=lambda i: (updated(i), int(i["source_record_id"])))  # fmt: skip
        spec = keywords["specification"]
        page = [selected(record(i, offset + n), spec) for n, i in enumerate(found[offset : offset + limit])]
    except (Invalid, ValueError, TypeError, KeyError) as exc:
        raise OdooError("odoo.exceptions.ValidationError", str(exc)) from None
    return {"length": len(found), "records": page}


class Handler(VendorHandler):
    def rpc(self, request_id: Any, result: Any = None, error: tuple[str, str] | None = None) -> None:
        if error is None:
            self.send_json({"jsonrpc": "2.0", "id": request_id, "result": result})
            return
        name, message = error
        data = {"name": name, "debug": f"Traceback (most recent call last):\n  ...\n{name}: {message}\n",
                "message": message, "arguments": [message], "context": {}}  # fmt: skip
        body = {
            "jsonrpc": "2.0",
            "id": request_id,
            "error": {"code": 200, "message": "Odoo Server Error", "data": data},
        }
        self.refuse(200, name.rpartition(".")[2], lambda: self.send_json(body))

    def vendor(self, method: str) -> None:
        if self.route != "/jsonrpc" or method != "POST":
            self.send_body(404, b"<!DOCTYPE html><title>404: Not Found</title>", "text/html")
            return
        try:
            call = self.json_body()
            params = call["params"]
            service, name, args = params["service"], params["method"], params["args"]
        except (ValueError, KeyError, TypeError):
            self.send_body(400, b"<!DOCTYPE html><title>400: Bad Request</title>", "text/html")
            return
        request_id = call.get("id")
        if (service, name) == ("common", "login"):
            if args[0] != DB:
                self.rpc(
                    request_id, error=("psycopg2.OperationalError", f'database "{args[0]}" does not exist')
                )
            elif list(args[1:3]) == [USER, PASSWORD]:
                self.rpc(request_id, UID)
            else:
                self.refuse(200, "login", lambda: self.rpc(request_id, False))
        elif (service, name) == ("object", "execute_kw"):
            self.execute_kw(request_id, args)
        else:
            self.rpc(
                request_id, error=("werkzeug.exceptions.NotFound", f"No such service method {service}.{name}")
            )

    def execute_kw(self, request_id: Any, args: list[Any]) -> None:
        try:
            self.rpc(request_id, execute_kw(self.truth, args))
        except OdooError as exc:
            self.rpc(request_id, error=(exc.name, exc.message))


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
