"""A one-stop app whose export packs a CSV per day into a ZIP archive, downloaded as an attachment.

Contract (what the vendor's manual says of "Tải dữ liệu hồ sơ"):
  GET /tai-ve/ho-so.zip?from=<ISO 8601>&to=<ISO 8601>&skip=<n>&limit=<n ≤ 100>      HTTP Basic auth
      -> application/zip, Content-Disposition: attachment; filename="hoso_<from day>.zip": the page's dossiers
         (sorted by updatedDate then _id, the window half-open on updatedDate), one member
         `hoso_<yyyy-mm-dd>.csv` per day of updatedDate (UTC), each with its own header row (mongoexport's CSV,
         as tests.vendors.mongo_csv writes it), plus a `README.txt`. A page with no dossiers is an archive
         holding only README.txt.
  Wrong credentials -> HTTP 401 text/plain "Tài khoản tải dữ liệu không hợp lệ".
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime
from typing import Any

from tests.vendors.common import arguments, serve, updated
from tests.vendors.mongo_csv.server import COLUMNS, row
from tests.vendors.mongo_csv.server import Handler as MongoCsvHandler

VENDOR = "zip_daily"
USER, PASSWORD = "tai_ve", "Zip#Daily-2025"
REFUSAL = "Tài khoản tải dữ liệu không hợp lệ"


def archive(items: list[dict[str, Any]]) -> bytes:
    days: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        days.setdefault(updated(item).astimezone(UTC).strftime("%Y-%m-%d"), []).append(item)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("README.txt", "Du lieu ho so, moi ngay mot tep CSV (UTF-8).\r\n")
        for day, rows in days.items():
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\r\n")
            writer.writerow(COLUMNS)
            writer.writerows(row(i) for i in rows)
            z.writestr(f"hoso_{day}.csv", "\ufeff" + text.getvalue())
    return out.getvalue()


class Handler(MongoCsvHandler):
    """mongo_csv's endpoint and rows, packed: a ZIP attachment of one CSV per day."""

    export_path, user, password, refusal = "/tai-ve/ho-so.zip", USER, PASSWORD, REFUSAL
    bad_parameters = "Tham số không hợp lệ"

    def export(self, items: list[dict[str, Any]], start: datetime) -> None:
        disposition = f'attachment; filename="hoso_{start:%Y-%m-%d}.zip"'
        self.send_body(200, archive(items), "application/zip", {"Content-Disposition": disposition})


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
