"""The administrators' list of failures: quarantined records, failed deliveries, conflicts and task failures in
one view (`onestop.failure`, migration 0008), filtered, counted per error class and paged by key.

A key names one failure whatever its kind: q<quarantine id>, d<uid>@<version>, c<uid>, t<task failure id>,
r<attempt id> (a page refused as a whole, connectors.store.refusals).
Pages are ordered newest first by (at, key) and continue after the last row shown (a cursor, not an offset),
so the hundredth page costs what the first does. A quarantined source record is one row, its latest version,
with how many versions it has (migration 0012); the others stay reachable by their keys.

A failure's detail page (history, errors, facts) is connectors.store.failure_detail's.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg

from connectors.store import failure_detail
from schemas.jsontext import dumps

KINDS = ("quarantine", "delivery", "conflict", "task", "refused")
COLUMNS = (
    "kind, key, source, stage, error_class, message, ref, at, open, state, resolved_at, resolved_by, comment,"
    " versions"
)
# The same columns read from the quarantine table itself: an older version of a record is not in the list.
_QUARANTINE_COLUMNS = (
    "'quarantine', 'q' || id, source, 'normalize', error_class,"
    " concat_ws(': ', NULLIF(errors -> 0 ->> 'field', ''), NULLIF(errors -> 0 ->> 'reason', '')), record_id,"
    " last_seen_at, state = 'open', state, resolved_at, resolved_by, comment, versions"
)
TOTAL_CAP = 10_000  # above this many matching failures the total is the planner's estimate
TOTAL_TTL = 15.0  # seconds a total per filter set is reused (the list's first page is opened often)


@dataclass(frozen=True)
class Filters:
    source: str | None = None
    kind: str | None = None  # quarantine | delivery | conflict | task | refused (the stage it failed at)
    error_class: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    state: str = "open"  # open | resolved (everything closed: resolved, re-driven, delivered) | all

    def where(self, *, with_class: bool = True) -> tuple[str, dict[str, Any]]:
        clauses, params = [], {}
        for name in ("source", "kind", "error_class"):
            value = getattr(self, name)
            if value and (with_class or name != "error_class"):
                clauses.append(f"{name} = %({name})s")
                params[name] = value
        if self.since:
            clauses.append("at >= %(since)s")
            params["since"] = self.since
        if self.until:
            clauses.append("at < %(until)s")
            params["until"] = self.until
        if self.state == "open":
            clauses.append("open")
        elif self.state == "resolved":
            clauses.append("NOT open")
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.__dict__.items() if v}


@dataclass(frozen=True)
class Failure:
    kind: str
    key: str
    source: str | None
    stage: str
    error_class: str
    message: str | None
    ref: str | None  # the record id, MaHoSo or dag.task it concerns
    at: datetime
    open: bool
    state: str
    resolved_at: datetime | None
    resolved_by: str | None
    comment: str | None
    versions: int = 1  # a quarantined record's versions (payloads) not superseded; 1 for every other kind
    source_title: str | None = None  # the registry's title of `source` (None for a source it does not know)

    @property
    def redrivable(self) -> bool:
        """A conflict is settled by a decision, not by running anything again."""
        return self.open and self.kind != "conflict"


@dataclass
class Page:
    rows: list[Failure]
    next_cursor: str | None
    counts: dict[str, int] = field(default_factory=dict)  # error class -> failures matching the other filters
    total: int | None = None  # failures matching the filters (with counts only); see total_is_estimate
    total_is_estimate: bool = False  # True: above TOTAL_CAP, the planner's estimate


def encode_cursor(at: datetime, key: str) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{key}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Raises ValueError on a cursor this module did not make."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, key = text.split("|", 1)
        KeySet.parse([key])
        when = datetime.fromisoformat(at)
        if when.tzinfo is None:
            raise ValueError(at)
        return when, key
    except (UnicodeDecodeError, ValueError, TypeError) as exc:
        raise ValueError(f"not a page cursor: {cursor!r}") from exc


def page(
    conn: psycopg.Connection,
    filters: Filters,
    *,
    after: str | None = None,
    size: int = 50,
    counts: bool = True,
    titles: dict[str, str] | None = None,
) -> Page:
    """One page, newest first, after the cursor `after`; with the counts per error class and the total (a scan
    of the matching failures: leave them out when walking page after page). `titles` (name -> title) names the
    sources; the console passes the registry's (this layer does not read it)."""
    where, params = filters.where()
    if after:
        at, key = decode_cursor(after)
        # `at <= …` lets each branch walk its time index; the row comparison breaks ties on the key.
        where += (" AND " if where else " WHERE ") + "at <= %(at)s AND (at, key) < (%(at)s, %(key)s)"
        params.update(at=at, key=key)
    params["limit"] = size + 1
    titles = titles or {}
    rows = [
        Failure(*r, source_title=titles.get(r[2]))
        for r in conn.execute(
            f"SELECT {COLUMNS} FROM onestop.failure{where} ORDER BY at DESC, key DESC LIMIT %(limit)s", params
        ).fetchall()
    ]
    more = len(rows) > size
    rows = rows[:size]
    cursor = encode_cursor(rows[-1].at, rows[-1].key) if more else None
    if not counts:
        return Page(rows, cursor)
    n, estimate = total(conn, filters)
    return Page(rows, cursor, counts_by_class(conn, filters), n, estimate)


_totals: dict[tuple, tuple[float, int, bool]] = {}


def total(conn: psycopg.Connection, filters: Filters) -> tuple[int, bool]:
    """(failures matching the filters, whether that is an estimate): counted up to TOTAL_CAP, above it the
    planner's row estimate; reused for TOTAL_TTL seconds per filter set (in this process)."""
    key = (conn.info.dbname, conn.info.host, conn.info.port, filters)
    now = time.monotonic()
    cached = _totals.get(key)
    if cached and now - cached[0] < TOTAL_TTL:
        return cached[1], cached[2]
    where, params = filters.where()
    row = conn.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM onestop.failure{where} LIMIT {TOTAL_CAP + 1}) t", params
    ).fetchone()
    n, estimate = (row[0] if row else 0), False
    if n > TOTAL_CAP:
        plan = conn.execute(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM onestop.failure{where}", params).fetchone()[
            0
        ]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        n, estimate = max(int(plan[0]["Plan"]["Plan Rows"]), TOTAL_CAP + 1), True
    if len(_totals) > 1000:
        _totals.clear()
    _totals[key] = (now, n, estimate)
    return n, estimate


def forget_totals() -> None:
    """After a resolution or a re-drive the totals are counted again."""
    _totals.clear()


def counts_by_class(conn: psycopg.Connection, filters: Filters) -> dict[str, int]:
    where, params = filters.where(with_class=False)
    rows = conn.execute(
        f"SELECT error_class, count(*) FROM onestop.failure{where} GROUP BY 1 ORDER BY 2 DESC, 1", params
    ).fetchall()
    return dict(rows)


def get(conn: psycopg.Connection, key: str) -> Failure | None:
    """Raises ValueError on a key that is not one (KeySet.parse)."""
    ks = KeySet.parse([key])
    row = conn.execute(f"SELECT {COLUMNS} FROM onestop.failure WHERE key = %s", (key,)).fetchone()
    if row is None and ks.quarantine:  # an older version of a record (the list shows its latest)
        row = conn.execute(
            f"SELECT {_QUARANTINE_COLUMNS} FROM onestop.quarantine WHERE id = %s AND state <> 'superseded'",
            (ks.quarantine[0],),
        ).fetchone()
    return Failure(*row) if row else None


def select_keys(conn: psycopg.Connection, filters: Filters, limit: int = 100_000) -> list[str]:
    """The open failures a whole-class action applies to."""
    where, params = Filters(**{**filters.__dict__, "state": "open"}).where()
    return [
        r[0]
        for r in conn.execute(
            f"SELECT key FROM onestop.failure{where} ORDER BY at DESC LIMIT %(limit)s",
            {**params, "limit": limit},
        ).fetchall()
    ]


@dataclass
class KeySet:
    """Failure keys split by the table each names."""

    quarantine: list[int] = field(default_factory=list)
    delivery: list[tuple[str, int]] = field(default_factory=list)
    conflict: list[str] = field(default_factory=list)
    task: list[int] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)

    @classmethod
    def parse(cls, keys: list[str]) -> KeySet:
        """Raises ValueError on anything this console did not make: ids are ASCII digits within bigint, a
        version within integer, a dossier uid 24 hex digits (so that no text reaches the database unchecked)."""
        out = cls()
        for key in keys:
            kind, rest = key[:1], key[1:]
            try:
                if kind == "q":
                    out.quarantine.append(_number(rest, BIGINT))
                elif kind == "t":
                    out.task.append(_number(rest, BIGINT))
                elif kind == "r":
                    out.refused.append(_number(rest, BIGINT))
                elif kind == "c":
                    out.conflict.append(_uid(rest))
                elif kind == "d":
                    uid, version = rest.rsplit("@", 1)
                    out.delivery.append((_uid(uid), _number(version, INTEGER)))
                else:
                    raise ValueError
            except ValueError:
                raise ValueError(f"not a failure key: {key!r}") from None
        return out

    def names(self) -> list[str]:
        """The keys again, as the console writes them."""
        return (
            [f"q{i}" for i in self.quarantine]
            + [f"d{u}@{v}" for u, v in self.delivery]
            + [f"c{u}" for u in self.conflict]
            + [f"t{i}" for i in self.task]
            + [f"r{i}" for i in self.refused]
        )


BIGINT, INTEGER = 2**63 - 1, 2**31 - 1


def _number(text: str, top: int) -> int:
    """Digits only (int() would take ' 7', '+7', '7_0' and other scripts' digits), within the column's type."""
    if not (text.isascii() and text.isdigit()) or len(text) > 19 or int(text) > top:
        raise ValueError(text)
    return int(text)


def _uid(text: str) -> str:
    if len(text) != 24 or not all(c in "0123456789abcdef" for c in text):
        raise ValueError(text)
    return text


# The tables whose open rows a resolution closes by state: (table, key column, KeySet field).
_RESOLVED_BY_STATE = (
    ("quarantine", "id", "quarantine"),
    ("conflict", "uid", "conflict"),
    ("task_failure", "id", "task"),
    ("attempt", "id", "refused"),
)


def resolve(conn: psycopg.Connection, keys: list[str], actor: str, comment: str) -> int:
    """Mark open failures resolved, with who, when and why. A resolved delivery is not retried."""
    ks = KeySet.parse(keys)
    if ks.quarantine:  # a record's row in the list stands for all its versions: they are closed together
        ks.quarantine = [
            r[0]
            for r in conn.execute(
                "SELECT v.id FROM onestop.quarantine q JOIN onestop.quarantine v ON v.source = q.source"
                " AND v.record_id = q.record_id AND v.state = 'open' WHERE q.id = ANY(%s)",
                (ks.quarantine,),
            ).fetchall()
        ]
    forget_totals()
    args = {"actor": actor, "comment": comment}
    n = 0
    for table, column, field_name in _RESOLVED_BY_STATE:
        n += conn.execute(
            f"UPDATE onestop.{table} SET state = 'resolved', resolved_at = now(), resolved_by = %(actor)s,"
            f" comment = %(comment)s WHERE {column} = ANY(%(keys)s) AND state = 'open'",
            {**args, "keys": getattr(ks, field_name)},
        ).rowcount
    n += conn.execute(  # the outbox keeps its delivery state: resolving stops the retries
        "UPDATE onestop.outbox o SET resolved_at = now(), resolved_by = %(actor)s, comment = %(comment)s,"
        " next_try_at = 'infinity' FROM unnest(%(uids)s::text[], %(versions)s::int[]) AS k(uid, version)"
        " WHERE o.uid = k.uid AND o.version = k.version AND o.state IN ('failed', 'dead') AND o.resolved_at IS NULL",
        {**args, "uids": [u for u, _ in ks.delivery], "versions": [v for _, v in ks.delivery]},
    ).rowcount
    return n


def record_action(
    conn: psycopg.Connection,
    actor: str,
    action: str,
    *,
    keys: list[str] | None = None,
    filters: Filters | None = None,
    comment: str | None = None,
    state: str = "done",
) -> int:
    row = conn.execute(
        "INSERT INTO onestop.admin_action (actor, action, keys, filters, comment, state)"
        " VALUES (%s, %s, %s, %s::jsonb, %s, %s) RETURNING id",
        (actor, action, keys or [], dumps(filters.as_dict() if filters else {}), comment, state),
    ).fetchone()
    assert row is not None
    return row[0]


def update_action(conn: psycopg.Connection, action_id: int, **values: Any) -> None:
    """state, dag_run_id, result (a dict), finished_at."""
    if "result" in values:
        values["result"] = dumps(values["result"])
    sets = ", ".join(f"{k} = %({k})s" + ("::jsonb" if k == "result" else "") for k in values)
    conn.execute(f"UPDATE onestop.admin_action SET {sets} WHERE id = %(id)s", {**values, "id": action_id})


def actions_for(
    conn: psycopg.Connection, key: str, limit: int = 20, *, resolutions: bool = False
) -> list[tuple]:
    """What administrators did about one failure (chosen by key, or by a whole-class re-drive that took it).
    Resolutions are left out unless asked for: the failure's history already has its one line (who, when, why;
    `Detail.history`)."""
    return conn.execute(
        "SELECT at, actor, action, comment, dag_run_id, state, result FROM onestop.admin_action"
        " WHERE %s = ANY(keys) AND (%s OR action <> 'resolve') ORDER BY at DESC LIMIT %s",
        (key, resolutions, limit),
    ).fetchall()


def action(conn: psycopg.Connection, action_id: int) -> dict[str, Any] | None:
    """One administrator's action as the detail page polls it after a re-drive."""
    row = conn.execute(
        "SELECT id, action, state, dag_run_id, result, at, finished_at FROM onestop.admin_action WHERE id = %s",
        (action_id,),
    ).fetchone()
    if row is None:
        return None
    names = ("id", "action", "state", "dag_run_id", "result", "at", "finished_at")
    return dict(zip(names, row, strict=True))


def detail(conn: psycopg.Connection, key: str) -> failure_detail.Detail | None:
    failure = get(conn, key)
    if failure is None:
        return None
    return failure_detail.load(conn, failure, KeySet.parse([key]))
