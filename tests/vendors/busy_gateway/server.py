"""A one-stop system behind a provincial gateway (nginx) that sheds load and goes down for maintenance.

Contract:
  GET /api/v2/ho-so?tu_ngay=<ISO 8601>&den_ngay=<ISO 8601>&offset=<n>&limit=<n ≤ 100>   header X-Api-Key
      -> {"ma_loi": "00", "du_lieu": {"danh_sach": [...], "tong": n}}   (Thanh Hà's record shape)
  A wrong key -> 403 {"ma_loi": "403", "thong_bao": REFUSAL}.
  The gateway answers every --busy-every Nth data request with 429 and `Retry-After: <HTTP-date>` (one to two
  seconds ahead, as nginx's limit_req with a Lua date writes it), and, from the --maintenance-at Nth data request
  on, --maintenance-for requests in a row with a 503 HTML maintenance page (no Retry-After). Neither counts as a
  refusal: the gateway, not the contract, turned them away.
"""

from __future__ import annotations

import argparse
import email.utils
import time
from datetime import datetime

from tests.vendors.common import VendorHandler, arguments, serve, updated
from tests.vendors.cursor.server import render

VENDOR = "busy_gateway"
KEY = "gw-8f2c51d0a9e34b7c"
REFUSAL = "Khóa truy cập không hợp lệ hoặc đã bị thu hồi"
WRONG_CONNECTION = {"password": "gw-0000000000000000"}
MAINTENANCE = """<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>Bảo trì hệ thống</title>
<style>body{font-family:Arial;background:#f4f6f9}.box{margin:80px auto;width:600px}</style></head>
<body><div class="box"><h1>Hệ thống đang bảo trì</h1><p>Hệ thống Một cửa điện tử đang được nâng cấp.
Vui lòng quay lại sau ít phút.</p></div></body></html>""".encode()


class Handler(VendorHandler):
    server_version = "nginx"

    def vendor(self, method: str) -> None:
        if self.route != "/api/v2/ho-so" or method != "GET":
            self.refuse(
                404, "route", lambda: self.send_json({"ma_loi": "404", "thong_bao": "Not found"}, 404)
            )
            return
        if self.headers.get("X-Api-Key") != KEY:
            body = {"ma_loi": "403", "thong_bao": REFUSAL}
            self.refuse(403, "key", lambda: self.send_json(body, 403))
            return
        n = self.stats.count_data_request()
        o = self.options
        if o.maintenance_at and o.maintenance_at <= n < o.maintenance_at + o.maintenance_for:
            self.send_body(503, MAINTENANCE, "text/html; charset=utf-8")
            return
        if o.busy_every and n % o.busy_every == 0:
            when = email.utils.formatdate(time.time() + 2, usegmt=True)
            body = b"<html><head><title>429 Too Many Requests</title></head><body><center><h1>429 Too Many Requests</h1></center><hr><center>nginx</center></body></html>"
            self.send_body(429, body, "text/html", {"Retry-After": when})
            return
        try:
            start, end = (datetime.fromisoformat(self.param(k) or "") for k in ("tu_ngay", "den_ngay"))
            offset, limit = int(self.param("offset") or "0"), int(self.param("limit") or "50")
            if offset < 0 or not 1 <= limit <= 100:
                raise ValueError
        except ValueError:
            self.refuse(
                400, "params", lambda: self.send_json({"ma_loi": "400", "thong_bao": "Sai tham số"}, 400)
            )
            return
        found = sorted(
            (i for i in self.truth if start <= updated(i) < end),
            key=lambda i: (updated(i), i["source_record_id"]),
        )
        rows = [render(i) for i in found[offset : offset + limit]]
        self.send_json({"ma_loi": "00", "du_lieu": {"danh_sach": rows, "tong": len(found)}})


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--busy-every", type=int, default=3)
    parser.add_argument("--maintenance-at", type=int, default=4)
    parser.add_argument("--maintenance-for", type=int, default=2)


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0], options))
