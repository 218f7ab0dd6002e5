"""A sector system publishing a change feed through the provincial integration platform (LGSP).

    python -m onestop.simulators.feed --port 0 --seed 42 --count 2000 [options]

The feed is an ordered, append-only log of events derived from the dossiers' histories (igate_data's
generator, rewritten into this system's own dialect: English PascalCase, UTC times with `Z`, status slugs):
one `upsert` per history step, carrying the whole record as it was at that moment, and for ~delete-rate of
the dossiers a `delete` some time after their last step. Advancing the simulated clock appends the events
that fall due. A fetched event is leased to that consumer for the visibility timeout (wall-clock seconds);
unless acknowledged by then it is handed out again, with a new ack id. Acknowledged events never come again.
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import hmac
import json
import time
from array import array
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from onestop.simulators import _common as common
from onestop.simulators._server import json_response
from onestop.simulators.igate_calendar import parse_iso
from onestop.simulators.igate_data import EVENT_WINDOW, DossierGenerator
from onestop.simulators.igate_records import VENDOR_STATUS_TO_CANONICAL

MAX_BATCH = 5000  # FeedSpec.batch_size allows up to this
DELETE_DELAY = (3600, 10 * 86400)  # seconds after a dossier's last step (a clean-up, often at night)
DEFAULT_AGENCY_CODE = "000.00.05.H23"  # not a district's (those are 000.00.14-26.H23): MaHoSo stays unique
DEFAULT_AGENCY_NAME = "Trung tâm Phục vụ hành chính công tỉnh Hải Dương"

# This system's code tables (mappings/lgsp_feed.yaml reads them back).
STATUS_SLUGS: dict[int, str] = {
    1: "submitted",
    2: "received",
    3: "refused",
    4: "processing",
    5: "need_documents",
    6: "need_payment",
    7: "withdrawn",
    8: "stopped",
    9: "done",
    10: "returned",
}
UNKNOWN_STATUS_SLUG = "on_hold"  # what a deliberately bad `unknown_status` record carries
# Channel: 1 online, 2 at the counter, 3 public postal service (iGate's applyMethod is 0 counter, 1 online).
CHANNEL_CODES: dict[int, int] = {1: 1, 0: 2, 2: 3}
RETURN_METHODS: dict[int, str] = {0: "counter", 1: "post"}
APPLICANT_TYPES: dict[int, str] = {1: "citizen", 2: "business", 3: "agency", 4: "other"}
STAT_NAMES = (
    "requests",
    "unauthorized",
    "batches",
    "fetched",
    "redelivered",
    "acked",
    "ack_ignored",
    "ack_calls",
)


def iso_z(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _z(text: str) -> str:
    """An iGate +07:00 time in UTC with Z; an impossible date (a deliberately bad record) stays impossible."""
    try:
        return iso_z(parse_iso(text))
    except ValueError:
        return f"{text[:10]}T01:00:00Z"


def to_dialect(rec: dict[str, Any], agency_name: str) -> dict[str, Any]:
    """An igate_data record rewritten as this system shows it (the same dossier, the same defects)."""
    proc, applicant = rec["procedure"], rec["applicant"]
    address = applicant["address"]
    out: dict[str, Any] = {"Id": rec["id"]}
    if "code" in rec:
        out["DocCode"] = rec["code"]
    if "nationCode" in proc:
        out["ProcedureCode"] = proc["nationCode"]
    out["ProcedureLocalCode"] = proc["code"]
    out["ProcedureName"] = proc["name"]
    out["FieldCode"], out["FieldName"] = rec["sector"]["code"], rec["sector"]["name"]
    out["AgencyCode"], out["AgencyName"] = rec["agency"]["code"], agency_name
    out["Channel"] = CHANNEL_CODES[rec["applyMethod"]["id"]]
    out["ServiceLevel"] = rec["serviceLevel"]
    out["ReturnMethod"] = RETURN_METHODS[rec["receivingKind"]]
    out["ApplicantType"] = APPLICANT_TYPES[applicant["type"]]
    out["ApplicantName"] = applicant["fullname"]
    out["ApplicantIdType"] = applicant["identityType"]
    out["ApplicantIdNumber"] = applicant["identityNumber"]
    out["ApplicantBirthDate"] = applicant["birthday"]
    out["ApplicantPhone"] = applicant["phone"]
    if "email" in applicant:
        out["ApplicantEmail"] = applicant["email"]
    out["ApplicantAddress"] = {
        "Street": address["address"],
        "WardCode": address["ward"]["code"],
        "WardName": address["ward"]["name"],
        "DistrictCode": address["district"]["code"],
        "DistrictName": address["district"]["name"],
        "ProvinceCode": address["province"]["code"],
        "ProvinceName": address["province"]["name"],
    }
    out["Summary"] = rec["summary"]
    for src, dst in (
        ("appliedDate", "DateSubmitted"),
        ("acceptedDate", "DateReceived"),
        ("appointmentDate", "DateAppointed"),
        ("completedDate", "DateFinished"),
        ("returnedDate", "DateReturned"),
        ("cancelledDate", "DateCancelled"),
    ):
        if src in rec:
            out[dst] = _z(rec[src])
    status = VENDOR_STATUS_TO_CANONICAL.get(rec["dossierStatus"]["id"])
    out["Status"] = STATUS_SLUGS.get(status or 0, UNKNOWN_STATUS_SLUG)
    out["LastModified"] = _z(rec["updatedDate"])
    if "note" in rec:
        out["Note"] = rec["note"]
    out["Steps"] = [
        {
            "Status": STATUS_SLUGS[VENDOR_STATUS_TO_CANONICAL[step["status"]]],
            "At": _z(step["createdDate"]),
            "Actor": step["user"]["fullname"],
            "Position": step["position"],
            "Department": step["department"],
            "Content": step["content"],
        }
        for step in rec["history"]
    ]
    out["Documents"] = [
        {
            "FileName": doc["filename"],
            "FormCode": doc["formCode"],
            "Url": doc["url"].replace("http://igate.local/", "http://lgsp.local/"),
            "SizeBytes": doc["size"],
        }
        for doc in rec["attachments"]
    ]
    out["Fees"] = [
        {
            "FeeCode": fee["code"],
            "FeeName": fee["name"],
            "Amount": fee["amount"],
            "PaymentMethod": fee["method"],
            "FeeType": fee["type"],
        }
        for fee in rec["fees"]
    ]
    return out


class EventLog:
    """The feed's events in order, with each one's lease and acknowledgement (compact arrays, records on demand).

    Event n (0-based; its `seq` is n + 1) is (time, dossier index, history step; -1 = the deletion).
    Events are sorted by (time, index, step); the clock only moves forward, so appending keeps seqs stable.
    Leasing never scans leased events: events never leased start at `fresh`, and events whose lease ran
    out wait in the `ready` heap (all older than `fresh`, so the heap goes first).
    """

    def __init__(self, gen: DossierGenerator, delete_rate: float, visibility_timeout: float) -> None:
        self.gen = gen
        self.delete_rate = delete_rate
        self.visibility_timeout = visibility_timeout
        # A Weyl sequence (like igate_data's bad records): every stretch of indices holds ~delete_rate
        # deletions; a different irrational from the bad records', so deletions and defects do not correlate.
        self._phase = int.from_bytes(hashlib.blake2b(b"%d:delete" % gen.seed, digest_size=4).digest()) / 2**32
        self.until: int | None = None  # the log holds every event at or before this time
        self.time, self.index, self.step = array("q"), array("l"), array("b")
        self.lease = array("q")  # batch number of the latest lease, 0 = never leased
        self.expiry = array("d")  # monotonic time the latest lease ends
        self.acked = bytearray()
        self.acked_count = 0
        self.batches = 0
        self.fresh = 0  # events from here on were never leased
        self.ready: list[int] = []  # heap: unacknowledged events whose lease ran out
        self.leases: deque[tuple[float, int, list[int]]] = deque()  # (expiry, batch, events), oldest first

    # -- the events ---------------------------------------------------------------------------------------
    def timeline(self, i: int) -> list[int]:
        """The dossier's event times. _timeline is igate_data's one source of truth for histories."""
        return self.gen._timeline(i)[1]

    def deletion(self, i: int, times: list[int] | None = None) -> int | None:
        """When dossier i is deleted (some time after its last step), or None if it never is."""
        if ((i + 1) * 0.7548776662466927 + self._phase) % 1.0 >= self.delete_rate:
            return None
        h = int.from_bytes(hashlib.blake2b(b"%d:%d:delete" % (self.gen.seed, i), digest_size=4).digest())
        last = (times or self.timeline(i))[-1]
        low, high = DELETE_DELAY
        return last + low + h % (high - low)

    def extend(self, clock: int) -> int:
        """Append the events in (until, clock]; returns how many."""
        gen, lo = self.gen, self.until
        if lo is not None and clock <= lo:
            return 0
        # Only dossiers received within a history plus the longest delay before `until` can have new events.
        first = 0 if lo is None else gen.first_index_at_or_after(lo - EVENT_WINDOW - DELETE_DELAY[1])
        new: list[tuple[int, int, int]] = []
        for i in range(first, gen.first_index_after(clock)):
            times = self.timeline(i)
            for k, t in enumerate(times):
                if (lo is None or t > lo) and t <= clock:
                    new.append((t, i, k))
            deleted = self.deletion(i, times)
            if deleted is not None and (lo is None or deleted > lo) and deleted <= clock:
                new.append((deleted, i, -1))
        new.sort()  # (time, index, step): a deletion never shares a time with its dossier's steps
        for t, i, k in new:
            self.time.append(t)
            self.index.append(i)
            self.step.append(k)
        self.lease.extend(array("q", [0]) * len(new))
        self.expiry.extend(array("d", [0.0]) * len(new))
        self.acked.extend(bytes(len(new)))
        self.until = clock
        return len(new)

    def __len__(self) -> int:
        return len(self.time)

    # -- leases -------------------------------------------------------------------------------------------
    def take(self, limit: int, now: float) -> tuple[int, list[int], int]:
        """Lease the oldest events neither acknowledged nor leased to a new batch: (batch, events, redelivered).

        Synchronous: on the server's one event loop, two consumers are never handed the same event.
        """
        while self.leases and self.leases[0][0] <= now:
            self._release(*self.leases.popleft()[1:])
        self.batches += 1
        batch, taken = self.batches, []
        while self.ready and len(taken) < limit:
            taken.append(heapq.heappop(self.ready))
        redelivered = len(taken)
        while self.fresh < len(self) and len(taken) < limit:
            taken.append(self.fresh)
            self.fresh += 1
        expiry = now + self.visibility_timeout
        for n in taken:
            self.lease[n], self.expiry[n] = batch, expiry
        self.leases.append((expiry, batch, taken))
        return batch, taken, redelivered

    def _release(self, batch: int, events: list[int]) -> None:
        for n in events:
            if not self.acked[n] and self.lease[n] == batch:
                heapq.heappush(self.ready, n)

    def ack(self, ack_id: Any, now: float) -> bool:
        """Only the current, unexpired lease may acknowledge: a late consumer's ids are ignored."""
        batch, n = _parse_ack(ack_id, len(self))
        if n < 0 or self.acked[n] or self.lease[n] != batch or self.expiry[n] <= now:
            return False
        self.acked[n] = 1
        self.acked_count += 1
        return True

    def expire_all(self) -> int:
        """Every lease ends now (tests); returns how many unacknowledged events it frees."""
        before = len(self.ready)
        while self.leases:
            _, batch, events = self.leases.popleft()
            for n in events:
                self.expiry[n] = 0.0
            self._release(batch, events)
        return len(self.ready) - before


@dataclass(frozen=True)
class FeedSettings(common.SimulatorSettings):
    api_key: str = "feed-key"
    visibility_timeout: float = 30.0
    delete_rate: float = 0.02
    agency_name: str = DEFAULT_AGENCY_NAME


@dataclass
class _State:
    gen: DossierGenerator
    log: EventLog
    clock: int
    stats: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STAT_NAMES, 0))


def _error(status: int, message: str) -> Response:
    return json_response({"error": message}, status)


def create_app(settings: FeedSettings) -> FastAPI:
    gen = DossierGenerator(settings.generator)
    log = EventLog(gen, settings.delete_rate, settings.visibility_timeout)
    state = _State(gen=gen, log=log, clock=settings.initial_clock())
    log.extend(state.clock)
    app = FastAPI(title="LGSP change-feed simulator", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sim = state
    key = settings.api_key.encode()
    vt = settings.visibility_timeout
    lease_seconds = int(vt) if float(vt).is_integer() else vt

    def authorized(request: Request) -> bool:
        given = request.headers.get("x-api-key")
        return given is not None and hmac.compare_digest(given.encode(), key)

    async def gate(request: Request) -> Response | None:
        """Counts the call, adds latency, refuses a missing or wrong key."""
        state.stats["requests"] += 1
        await common.pause(settings.latency_ms)
        if not authorized(request):
            state.stats["unauthorized"] += 1
            return _error(401, "invalid_api_key")
        return None

    def event(n: int, batch: int) -> dict[str, Any]:
        i, k, t = log.index[n], log.step[n], log.time[n]
        out: dict[str, Any] = {
            "ack_id": f"{batch}-{n + 1}",
            "seq": n + 1,
            "op": "upsert" if k >= 0 else "delete",
            "id": gen.dossier_id(i),
            "occurredAt": iso_z(t),
            "record": None,
        }
        if k >= 0:
            record = gen.record(i, t)
            assert record is not None  # t is one of its own event times
            out["record"] = to_dialect(record, settings.agency_name)
        return out

    @app.post("/feed/fetch")
    async def fetch(request: Request) -> Response:
        refused = await gate(request)
        if refused is not None:
            return refused
        try:
            limit = int(request.query_params.get("max", "100"))
        except ValueError:
            return _error(400, "max must be an integer")
        if limit < 0:
            return _error(400, "max must be >= 0")
        if limit == 0:  # a probe: authenticated, leases nothing
            return json_response({"batch_id": None, "lease_seconds": lease_seconds, "events": []})
        batch, taken, redelivered = log.take(min(limit, MAX_BATCH), time.monotonic())
        state.stats["batches"] += 1
        state.stats["fetched"] += len(taken)
        state.stats["redelivered"] += redelivered
        events = [event(n, batch) for n in taken]
        return json_response({"batch_id": f"b{batch}", "lease_seconds": lease_seconds, "events": events})

    @app.post("/feed/ack")
    async def ack(request: Request) -> Response:
        refused = await gate(request)
        if refused is not None:
            return refused
        try:
            body: Any = json.loads(await request.body() or b"{}")
        except json.JSONDecodeError:
            return _error(400, "body must be JSON")
        ids = body.get("ack_ids") if isinstance(body, dict) else None
        if not isinstance(ids, list):
            return _error(400, 'expected {"ack_ids": [...]}')
        state.stats["ack_calls"] += 1
        now = time.monotonic()
        acked = sum(log.ack(ack_id, now) for ack_id in ids)
        state.stats["acked"] += acked
        state.stats["ack_ignored"] += len(ids) - acked
        return json_response({"acked": acked, "ignored": len(ids) - acked})

    @app.post("/_sim/expire_leases")
    async def expire_leases() -> Response:
        return json_response({"expired": log.expire_all()})

    def truth_row(i: int, clock: int) -> dict[str, Any] | None:
        row = gen.truth(i, clock)
        if row is not None:
            row["updatedDate"] = _z(row["updatedDate"])
            deleted = log.deletion(i)
            row["deleted"] = deleted is not None and deleted <= clock
        return row

    def move_clock(target: int) -> dict[str, Any]:
        if target < state.clock:
            raise common.ClockError("the feed's clock only moves forward (its log is append-only)")
        state.clock = target
        return {"appended": log.extend(target)}

    common.add_sim_routes(
        app,
        state,
        gen,
        truth_row=truth_row,
        move_clock=move_clock,
        clock_extra=lambda: {"events": len(log)},
        stats_answer=lambda: {**state.stats, "events": len(log), "pending": len(log) - log.acked_count},
    )
    return app


def _parse_ack(ack_id: Any, events: int) -> tuple[int, int]:
    """An ack id `<batch>-<seq>` as (batch, 0-based event); (0, -1) for anything malformed or out of range."""
    batch, _, seq = ack_id.partition("-") if isinstance(ack_id, str) else ("", "", "")
    if not (batch.isdigit() and seq.isdigit() and 0 < int(seq) <= events):
        return 0, -1
    return int(batch), int(seq) - 1


def build_parser() -> argparse.ArgumentParser:
    p = common.new_parser("onestop.simulators.feed", __doc__)
    common.add_dossier_options(
        p,
        district_help="GSO district code (288-300) the applicants mostly live in",
        agency_code=DEFAULT_AGENCY_CODE,
        agency_code_help="the receiving agency (starts MaHoSo)",
    )
    p.add_argument("--agency-name", default=DEFAULT_AGENCY_NAME)
    p.add_argument("--api-key", default="feed-key", help="expected in the X-API-Key header")
    p.add_argument(
        "--visibility-timeout", type=float, default=30, help="seconds a fetched event stays leased"
    )
    common.add_clock_options(p, latency_help="ms added to each feed request")
    p.add_argument("--delete-rate", type=float, default=0.02, help="share of dossiers deleted later")
    return p


def _complaint(args: argparse.Namespace) -> str | None:
    return "--visibility-timeout must be > 0" if args.visibility_timeout <= 0 else None


def main(argv: list[str] | None = None) -> None:
    common.run(
        build_parser(),
        argv,
        FeedSettings,
        create_app,
        shares=("bad_rate", "delete_rate"),
        complaint=_complaint,
    )


if __name__ == "__main__":
    main()
