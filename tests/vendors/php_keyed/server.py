"""A Laravel one-stop app: Laravel's LengthAwarePaginator as JSON, whose `data` is an object keyed by position
when the page was filtered (json_encode of a PHP array whose keys do not run 0, 1, 2, …).

Contract:
  GET /api/ho-so?api_token=<token>&tu_ngay=Y-m-d H:i:s&den_ngay=Y-m-d H:i:s&per_page=<n ≤ 100>[&page=<n>]
      -> {"current_page": 2, "data": {"50": {...}, "51": {...}} | [...], "first_page_url": "...",
          "from": 51, "last_page": 5, "next_page_url": "<absolute URL>" | null, "per_page": 50, "to": 100,
          "total": 250, "path": "...", "prev_page_url": ...}
  Odd pages come keyed (the app filtered them), even pages as lists. The records are Thanh Hà's sync API's shape
  (snake_case Vietnamese, times ISO 8601 in UTC). The window is local time without a zone, half-open on the
  update time. A wrong token -> HTTP 401 {"message": "Unauthenticated."}; bad parameters -> HTTP 422
  {"message": "...", "errors": {...}}, as Laravel writes them.
"""

from __future__ import annotations

from urllib.parse import urlencode

from tests.vendors.common import VendorHandler, arguments, parse_local, serve, updated
from tests.vendors.cursor.server import render

VENDOR = "php_keyed"
TOKEN = "7b1f0c9e2d4a4e6f8a3b5c7d9e1f2a4b"
REFUSAL = "Unauthenticated."
WRONG_CONNECTION = {"password": "0000000000000000000000000000000"}
LOCAL = "%Y-%m-%d %H:%M:%S"


class Handler(VendorHandler):
    def invalid(self, field: str, message: str) -> None:
        body = {"message": message, "errors": {field: [message]}}
        self.refuse(422, message, lambda: self.send_json(body, 422))

    def vendor(self, method: str) -> None:
        if self.route != "/api/ho-so" or method != "GET":
            self.refuse(404, "route", lambda: self.send_json({"message": "Not Found"}, 404))
            return
        if self.param("api_token") != TOKEN:
            self.refuse(401, "token", lambda: self.send_json({"message": REFUSAL}, 401))
            return
        try:
            start, end = (parse_local(self.param(k) or "", LOCAL) for k in ("tu_ngay", "den_ngay"))
        except ValueError:
            self.invalid("tu_ngay", "The tu ngay does not match the format Y-m-d H:i:s.")
            return
        size_text, page_text = self.param("per_page") or "", self.param("page") or "1"
        if not (size_text.isdigit() and page_text.isdigit()) or not 1 <= int(size_text) <= 100:
            self.invalid("per_page", "The per page must be between 1 and 100.")
            return
        size, page = int(size_text), max(int(page_text), 1)
        found = sorted(
            (i for i in self.truth if start <= updated(i) < end),
            key=lambda i: (updated(i), i["source_record_id"]),
        )
        first = (page - 1) * size
        rows = {str(first + n): render(item) for n, item in enumerate(found[first : first + size])}
        last = max((len(found) + size - 1) // size, 1)
        base = f"http://{self.headers.get('Host')}/api/ho-so"
        query = {k: v[0] for k, v in self.query.items() if k != "page"}

        def url(n: int) -> str:
            return f"{base}?{urlencode({**query, 'page': n})}"

        self.send_json(
            {
                "current_page": page,
                "data": rows if page % 2 else list(rows.values()),
                "first_page_url": url(1),
                "from": first + 1 if rows else None,
                "last_page": last,
                "last_page_url": url(last),
                "next_page_url": url(page + 1) if page < last else None,
                "path": base,
                "per_page": size,
                "prev_page_url": url(page - 1) if page > 1 else None,
                "to": first + len(rows) if rows else None,
                "total": len(found),
            }
        )


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
