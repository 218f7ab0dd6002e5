"""A district's one-stop app built on Supabase: its `ho_so` table read through PostgREST, as PostgREST 12 answers.

Contract (https://docs.postgrest.org/en/v12/references/api/tables_views.html, …/pagination_count.html,
…/resource_embedding.html, …/errors.html):
  GET /ho_so?select=*,qua_trinh(*),le_phi(*),giay_to(*)
            &updated_at=gte.<timestamptz>&updated_at=lt.<timestamptz>&order=updated_at.asc,id.asc
      Authorization: Bearer <JWT, HS256, signed with the server's secret, a `role` and an `exp`>
      Range-Unit: items, Range: 0-99     (or &limit=100&offset=0 in the query)
      Prefer: count=exact
    -> 206 Partial Content (200 when the rows are the whole count), a plain JSON array of rows,
       Content-Range: 0-99/250 (no unit word: `*/250` for no rows, `0-99/*` when not counted)
  Columns as PostgreSQL keeps them (snake_case Vietnamese, bigint ids as JSON numbers, numeric as numbers, dates
  `yyyy-MM-dd`, timestamptz written by a database whose TimeZone is UTC: `2025-01-02T01:30:00+00:00`); the rows of
  linked tables embedded only when `select` names them, each a list inside its row, in their ids' order (or as
  `<table>.order` asks). The query string is decoded as PostgREST (Warp) decodes it: a `+` is a space, so a
  time's `+07:00` sent unencoded is no timestamptz (PostgreSQL's 22007). Without `order` the rows come in the
  heap's order, which moves as rows are updated (here: each request another): pages read so lose and repeat rows.
  At most 100 rows per answer (db-max-rows). Errors are PostgreSQL's structure: {"code", "details", "hint",
  "message"}; a JWT that is expired or wrongly signed is 401 PGRST301 with a WWW-Authenticate header, no JWT 401
  PGRST302 (anonymous access disabled), an offset past the rows 416 PGRST103, an unknown column 400 42703, an
  unknown embedding 400 PGRST200, a filter or order that cannot be parsed 400 PGRST100. With `--delete-at N`,
  rows are deleted before the Nth data request (the list shrinks under a read: an offset asked for may now be past
  its end, 416). A JWT may also come from `POST /rpc/login` {"email", "pass"} -> {"token": …} (PostgREST's SQL
  user management: `exp` --token-ttl seconds on; a wrong password 403 28P01 "invalid user or password"); with
  `--revoke-at N` every token issued before the Nth data request reads as expired from then on.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from datetime import UTC, datetime
from typing import Any, ClassVar

from tests.vendors.common import VendorHandler, arguments, serve, updated

VENDOR = "postgrest"
SECRET = b"motcua-thanhmien-jwt-secret-0123456789abcdef"
ROLE = "dongbo_motcua"
REFUSAL = "JWT expired"
MAX_ROWS = 100
TABLE = "ho_so"
EMBEDS = ("qua_trinh", "le_phi", "giay_to")
COLUMNS = ("id", "ma_ho_so", "updated_at", "ngay_tiep_nhan")  # the columns this server filters and orders on
OPERATORS = {"eq", "gt", "gte", "lt", "lte"}


def jwt(claims: dict[str, Any], secret: bytes = SECRET) -> str:
    """An HS256 JWT (RFC 7519), as `supabase` or `pyjwt` would sign it."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


TOKEN = jwt({"role": ROLE, "iss": "motcua-thanhmien", "exp": 4102444800})  # 2100-01-01
LOGIN_EMAIL, LOGIN_PASS = "dongbo@thanhmien.haiduong.gov.vn", "Mc@ThanhMien2025"
LOGIN_REFUSAL = "invalid user or password"
WRONG_CONNECTION = {"password": jwt({"role": ROLE, "iss": "motcua-thanhmien", "exp": 1735664400})}  # expired


class PgError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: str | None = None,
        hint: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.body, self.headers = (
            status,
            {"code": code, "details": details, "hint": hint, "message": message},
            headers or {},
        )


def pg_time(value: str | None) -> str | None:
    """A timestamptz as PostgreSQL writes it into JSON with TimeZone=UTC."""
    if value is None:
        return None
    return datetime.fromisoformat(value).astimezone(UTC).isoformat()


def row_of(item: dict[str, Any]) -> dict[str, Any]:
    a = item["applicant"]
    rid = int(item["source_record_id"])
    return {
        "id": rid,
        "ma_ho_so": item["ma_ho_so"],
        "ma_thu_tuc": item["procedure_code"],
        "ten_thu_tuc": item["procedure_name"],
        "ma_linh_vuc": item["field_code"],
        "ten_linh_vuc": item["field_name"],
        "ma_don_vi": item["agency_code"],
        "ten_don_vi": item["agency_name"],
        "kenh_nop": item["channel"],
        "trang_thai": item["status"],
        "trich_yeu": item["summary"],
        "loai_nguoi_nop": a["type"],
        "ho_ten": a["name"],
        "loai_giay_to": "CCCD" if a.get("id_type") == 1 else None,
        "so_giay_to": a["id_number"],
        "dien_thoai": a["phone"],
        "email": a.get("email"),
        "ngay_sinh": a.get("birth_date"),
        "dia_chi": a["address"],
        "ngay_nop": pg_time(item.get("submitted_at")),
        "ngay_tiep_nhan": pg_time(item["received_at"]),
        "han_tra": pg_time(item["due_at"]),
        "ngay_co_ket_qua": pg_time(item.get("finished_at")),
        "ngay_tra": pg_time(item.get("returned_at")),
        "updated_at": pg_time(item["source_updated_at"]),
        "da_xoa": False,
    }


def embedded(item: dict[str, Any], table: str) -> list[dict[str, Any]]:
    rid = int(item["source_record_id"])
    if table == "qua_trinh":
        return [
            {
                "id": rid * 100 + i,
                "ho_so_id": rid,
                "trang_thai": h["status"],
                "thoi_diem": pg_time(h["at"]),
                "can_bo": h["actor"],
                "noi_dung": h["content"],
            }
            for i, h in enumerate(item["history"])
        ]
    if table == "le_phi":
        return [
            {
                "id": rid * 100 + i,
                "ho_so_id": rid,
                "ma": f["code"],
                "ten": f["name"],
                "so_tien": f["amount_vnd"],
            }
            for i, f in enumerate(item["fees"])
        ]
    return [
        {"id": rid * 100 + i, "ho_so_id": rid, "ten": d["name"], "ma_mau": d["form_code"]}
        for i, d in enumerate(item["documents"])
    ]


def timestamptz(text: str) -> datetime:
    """PostgreSQL's reading of a timestamptz literal (ISO forms; none: the session's UTC); 22007 otherwise."""
    try:
        value = datetime.fromisoformat(text.strip().replace(" ", "T", 1) if "T" not in text else text)
    except ValueError:
        raise PgError(
            400, "22007", f'invalid input syntax for type timestamp with time zone: "{text}"'
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def select_list(text: str) -> list[str]:
    """`*,qua_trinh(*)` -> the embedded tables named (PGRST100 for what cannot be parsed, PGRST200 unknown)."""
    found: list[str] = []
    for part in re.split(r",(?![^(]*\))", text):
        if part in ("*", *(c for c in COLUMNS)):
            continue
        m = re.fullmatch(r"([a-z_]+)\(\*\)", part)
        if m is None:
            raise PgError(
                400,
                "PGRST100",
                f'"failed to parse select parameter ({text})" (line 1, column 1)',
                details=f'unexpected "{part[:1]}"',
            )
        if m[1] not in EMBEDS:
            raise PgError(
                400,
                "PGRST200",
                f"Could not find a relationship between '{TABLE}' and '{m[1]}' in the schema cache",
                details=f"Searched for a foreign key relationship between '{TABLE}' and "
                f"'{m[1]}' in the schema 'public', but no matches were found.",
            )
        found.append(m[1])
    return found


class Handler(VendorHandler):
    def fail(self, exc: PgError) -> None:
        self.refuse(exc.status, exc.body["code"], lambda: self.send_json(exc.body, exc.status, exc.headers))

    def authorize(self) -> None:
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        if not token:
            raise PgError(401, "PGRST302", "Anonymous access is disabled")
        try:
            head, body, signature = token.split(".")
            expected = hmac.new(SECRET, f"{head}.{body}".encode(), hashlib.sha256).digest()
            given = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
            claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            raise PgError(
                401,
                "PGRST301",
                "JWSError (CompactDecodeError Invalid number of parts: Expected 3 parts; got 1)",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            ) from None
        if scheme != "Bearer" or not hmac.compare_digest(expected, given):
            raise PgError(
                401,
                "PGRST301",
                "JWSError JWSInvalidSignature",
                headers={
                    "WWW-Authenticate": 'Bearer error="invalid_token", error_description="JWSError JWSInvalidSignature"'
                },
            )
        revoked = claims.get("iat", 0) <= type(self).revoked_before if type(self).revoked_before else False
        if not isinstance(claims.get("exp"), int | float) or claims["exp"] <= time.time() or revoked:
            raise PgError(
                401,
                "PGRST301",
                REFUSAL,
                headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{REFUSAL}"'},
            )
        if claims.get("role") != ROLE:
            raise PgError(401, "42501", f"permission denied for table {TABLE}")

    revoked_before: ClassVar[float] = 0.0  # `--revoke-at`: tokens issued until then read as expired

    def login(self) -> None:
        """`POST /rpc/login` {"email", "pass"}: the SQL user management function of PostgREST's docs, its JWT
        as {"token": …}; a wrong password is the function's `raise invalid_password` (SQLSTATE 28P01: 403)."""
        try:
            asked = self.json_body()
        except ValueError:
            raise PgError(400, "PGRST102", "Empty or invalid json") from None
        if not isinstance(asked, dict) or set(asked) != {"email", "pass"}:
            raise PgError(
                404,
                "PGRST202",
                "Could not find the function public.login without parameters in the schema cache",
                hint="Perhaps you meant to call the function public.login(email, pass)",
            )
        if asked != {"email": LOGIN_EMAIL, "pass": LOGIN_PASS}:
            raise PgError(403, "28P01", LOGIN_REFUSAL)
        now = time.time()
        self.send_json(
            {
                "token": jwt(
                    {"role": ROLE, "email": LOGIN_EMAIL, "iat": now, "exp": int(now) + self.options.token_ttl}
                )
            }
        )

    def vendor(self, method: str) -> None:
        try:
            if self.route == "/rpc/login" and method == "POST":
                self.login()
                return
            if self.route != f"/{TABLE}":
                name = self.route.strip("/")
                raise PgError(
                    404,
                    "42P01",
                    f'relation "public.{name}" does not exist',
                    hint="If a new table was created in the database with this name, try reloading "
                    "the schema cache.",
                )
            if method != "GET":
                raise PgError(405, "PGRST117", f"Unsupported HTTP method: {method}")
            self.authorize()
            self.request_no = self.stats.count_data_request()
            if self.request_no == self.options.revoke_at:
                type(
                    self
                ).revoked_before = time.time()  # the secret rotated, say: every token issued so far ends
                self.authorize()
            if self.request_no == self.options.delete_at:
                self.delete(self.options.delete)
            time.sleep(self.options.slow)
            rows, headers, status = self.read()
        except PgError as exc:
            self.fail(exc)
            return
        self.send_json(rows, status, headers)

    def delete(self, count: int) -> None:
        """`--delete-at`: the first `count` rows in the window's order deleted (an officer's clean-up) while a
        sync reads: the rows after them move up, and an offset near the end is now past it."""
        gone = sorted(self.truth, key=lambda i: (updated(i), int(i["source_record_id"])))[:count]
        for item in gone:
            self.truth.remove(item)

    def read(self) -> tuple[list[dict[str, Any]], dict[str, str], int]:
        embeds = select_list(self.param("select") or "*")
        kept = list(self.truth)
        bounds = {"lower": False, "upper": False}
        orders: dict[str, str] = {}
        for key, values in self.query.items():
            if key in ("select", "limit", "offset"):
                continue
            if key == "order":
                orders[TABLE] = values[-1]
                continue
            if key.endswith(".order") and key.removesuffix(".order") in embeds:
                orders[key.removesuffix(".order")] = values[-1]
                continue
            if key not in COLUMNS:
                raise PgError(400, "42703", f"column {TABLE}.{key} does not exist")
            for value in values:
                op, dot, operand = value.partition(".")
                if not dot or op not in OPERATORS:
                    raise PgError(
                        400,
                        "PGRST100",
                        f'"failed to parse filter ({value})" (line 1, column {len(op) + 1})',
                        details="unexpected end of input",
                    )
                if key != "updated_at":
                    raise PgError(400, "42883", f"this server filters on updated_at only ({key})")
                at = timestamptz(operand)
                bounds["lower" if op in ("gt", "gte") else "upper"] |= op != "eq"
                test = {
                    "eq": lambda t, a=at: t == a,
                    "gt": lambda t, a=at: t > a,
                    "gte": lambda t, a=at: t >= a,
                    "lt": lambda t, a=at: t < a,
                    "lte": lambda t, a=at: t <= a,
                }[op]
                kept = [i for i in kept if test(updated(i))]
        if not (bounds["lower"] and bounds["upper"]):
            # not PostgREST's rule: this district's contract (a sync reads a window, never the whole table)
            raise PgError(400, "PGRST100", "the window is updated_at=gte.<time>&updated_at=lt.<time>")
        kept = self.ordered(kept, orders.get(TABLE))
        lower, upper = self.range()
        total = len(kept)
        prefer = self.headers.get("Prefer") or ""
        counted = "count=exact" in prefer
        if counted and lower > total:
            raise PgError(
                416,
                "PGRST103",
                "Requested range not satisfiable",
                details=f"An offset of {lower} was requested, but there are only {total} rows.",
                headers={"Content-Range": f"*/{total}"},
            )
        chunk = kept[lower : min(upper + 1, lower + MAX_ROWS)]
        rows = []
        for item in chunk:
            row = row_of(item)
            for table in embeds:
                children = embedded(item, table)
                if table in orders:
                    column, _, direction = orders[table].partition(".")
                    children.sort(
                        key=lambda c, k=column: c.get(k) or "", reverse=direction.startswith("desc")
                    )
                row[table] = children
            rows.append(self.spoiled(row, item))
        shown = f"{lower}-{lower + len(rows) - 1}" if rows else "*"
        status = 206 if counted and len(rows) < total else 200
        return rows, {"Content-Range": f"{shown}/{total if counted else '*'}", "Range-Unit": "items"}, status

    def spoiled(self, row: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
        """`--corrupt N`: the first N rows in the window's order hold what PostgreSQL allows and no dossier should:
        a deadline of `infinity` (timestamptz's own), a step's status NULL, a fee of numeric `NaN` (written "NaN")."""
        ordered = sorted(self.truth, key=lambda i: (updated(i), int(i["source_record_id"])))
        position = ordered.index(item)
        if position >= self.options.corrupt:
            return row
        if position % 3 == 0:
            return {**row, "han_tra": "infinity"}
        if position % 3 == 1 and row.get("qua_trinh"):
            return {**row, "qua_trinh": [{**row["qua_trinh"][0], "trang_thai": None}, *row["qua_trinh"][1:]]}
        return {
            **row,
            "le_phi": [{"id": 1, "ho_so_id": row["id"], "ma": "X", "ten": "Phí", "so_tien": "NaN"}],
        }

    def ordered(self, kept: list[dict[str, Any]], order: str | None) -> list[dict[str, Any]]:
        if order is None:
            salt = str(self.request_no)  # the heap's order moves as rows are updated
            return sorted(
                kept, key=lambda i: hashlib.md5((salt + i["source_record_id"]).encode()).hexdigest()
            )
        keys = []
        for term in order.split(","):
            column, _, direction = term.partition(".")
            if column not in COLUMNS:
                raise PgError(400, "42703", f"column {TABLE}.{column} does not exist")
            if direction not in ("", "asc", "desc", "asc.nullslast", "desc.nullsfirst"):
                raise PgError(400, "PGRST100", f'"failed to parse order ({order})" (line 1, column 1)')
            keys.append((column, direction.startswith("desc")))
        for column, desc in reversed(keys):
            kept = sorted(kept, key=lambda i, c=column: row_of(i)[c], reverse=desc)
        return kept

    def range(self) -> tuple[int, int]:
        """The rows asked for: the Range header (`Range-Unit: items`), restricted by limit and offset."""
        lower, upper = 0, 10**9
        asked = self.headers.get("Range")
        if asked is not None:
            m = re.fullmatch(r"(\d+)-(\d*)", asked.strip())
            if m is not None:  # PostgREST reads past a Range it cannot parse: all rows
                lower, upper = int(m[1]), int(m[2]) if m[2] else upper
                if lower > upper:
                    raise PgError(
                        416,
                        "PGRST103",
                        "Requested range not satisfiable",
                        details="The lower "
                        "boundary must be lower than or equal to the upper boundary in the Range header.",
                    )
        for name in ("limit", "offset"):
            value = self.param(name)
            if value is not None and not value.isdigit():
                raise PgError(400, "PGRST100", f'"failed to parse {name} ({value})" (line 1, column 1)')
        if self.param("offset") is not None:
            lower += int(self.param("offset") or 0)
        if self.param("limit") is not None:
            upper = min(upper, lower + int(self.param("limit") or 0) - 1)
        return lower, upper


def extra(parser: Any) -> None:
    parser.add_argument("--token-ttl", type=int, default=3600, help="seconds a /rpc/login token lives")
    parser.add_argument("--slow", type=float, default=0.0, help="seconds each data answer takes")
    parser.add_argument(
        "--corrupt", type=int, default=0, help="the first N rows in order hold a hostile value"
    )
    parser.add_argument(
        "--delete-at", type=int, default=0, help="rows are deleted before the Nth data request"
    )
    parser.add_argument("--delete", type=int, default=60, help="how many (the first in the window's order)")


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0], extra))
