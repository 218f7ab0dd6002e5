"""Pages of the shipped dialects, built from the simulators' own records, with hostile values spliced in.

A good record comes from `onestop.simulators.igate_data` (no deliberately bad ones), re-shaped the way each
simulator serves it (iGate JSON, the legacy ASP.NET XML, the SOAP district's <HoSo>, the LGSP feed's event), so
the good records of a page load with the shipped mappings; the CSV and XML-RPC protocols' from the vendor ground
truth (tests/vendors/truth.py) as the mongoexport and Odoo vendors write it, read with that vendor's registry entry
and mapping (kinds of system no shipped profile reads). A hostile record is a good one with values *set* at
source paths; a value is bytes written into the page verbatim (a file's bytes, a generator's), or a text/JSON
value the page's format encodes. The page is assembled as bytes: what the server sends is exactly that.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import xmlrpc.client
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree

from onestop.simulators import _common as common
from onestop.simulators import feed as feed_sim
from onestop.simulators import soap_district
from onestop.simulators.igate_data import DossierGenerator, GeneratorConfig
from onestop.simulators.legacy_xml import LegacySettings, LegacyShop

PROTOCOLS = ("rest", "xml", "soap11", "soap12", "feed", "csv", "xmlrpc", "xlsx", "graphql")
DIALECT = {
    "rest": "igate",
    "xml": "aspnet_xml",
    "soap11": "dvc_soap",
    "soap12": "dvc_soap",
    "feed": "lgsp_feed",
    "csv": "mongo_csv",
    "xmlrpc": "odoo_motcua",
    "xlsx": "excel_report",
    "graphql": "graphql_vn",
}
FORMAT = {"rest": "json", "feed": "json", "xml": "xml", "soap11": "xml", "soap12": "xml", "csv": "csv",
          "xmlrpc": "xmlrpc", "xlsx": "xlsx", "graphql": "json"}  # fmt: skip
SOAP_ENV = {
    "soap11": "http://schemas.xmlsoap.org/soap/envelope/",
    "soap12": "http://www.w3.org/2003/05/soap-envelope",
}
CONTENT_TYPE = {
    "rest": "application/json",
    "feed": "application/json",
    "xml": "text/xml; charset=utf-8",
    "soap11": "text/xml; charset=utf-8",
    "soap12": "application/soap+xml; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "xmlrpc": "text/xml; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "graphql": "application/graphql-response+json; charset=utf-8",
}

# Personal data planted in every hostile record (its identity fields; some hostile values quote it too). The
# leak scan looks for their digits (non-digits stripped) and the e-mail's local part in every stored error.
PLANTED = {
    "cccd": "030187004219",
    "cmnd": "201857369",
    "phone": "0912 468 013",
    "phone_intl": "+84 912 468 013",
    "email": "hostile.nguoidan.7@example.vn",
}
# Where each dialect's record carries them (source paths of the shipped mappings).
IDENTITY_PATHS = {
    "rest": {"id_type": "applicant.identityType", "id": "applicant.identityNumber", "phone": "applicant.phone",
             "email": "applicant.email"},
    "feed": {"id_type": "record.ApplicantIdType", "id": "record.ApplicantIdNumber", "phone": "record.ApplicantPhone",
             "email": "record.ApplicantEmail"},
    "xml": {"id_type": "IdType", "id": "IdNumber", "phone": "Phone", "email": "Email"},
    "soap11": {"id_type": "ChuHoSo.LoaiGiayTo", "id": "ChuHoSo.SoGiayTo", "phone": "ChuHoSo.SoDienThoai",
               "email": "ChuHoSo.Email"},
}  # fmt: skip
IDENTITY_PATHS["soap12"] = IDENTITY_PATHS["soap11"]
IDENTITY_PATHS["csv"] = IDENTITY_PATHS["rest"]  # mongoexport's dotted column names
IDENTITY_PATHS["xmlrpc"] = {
    "id_type": "loai_giay_to",
    "id": "so_giay_to",
    "phone": "dien_thoai",
    "email": "email",
}
IDENTITY_PATHS["xlsx"] = {
    "id_type": "Loại giấy tờ",
    "id": "Số giấy tờ",
    "phone": "Điện thoại",
    "email": "Thư điện tử",
}
IDENTITY_PATHS["graphql"] = {"id_type": "node.chuHoSo.loaiGiayTo", "id": "node.chuHoSo.soGiayTo",
                             "phone": "node.chuHoSo.dienThoai", "email": "node.chuHoSo.email"}  # fmt: skip
CCCD_TYPE = {"rest": "CCCD", "feed": "CCCD", "xml": "CCCD", "soap11": "1", "soap12": "1", "csv": "CCCD",
             "xmlrpc": "cccd", "xlsx": "CCCD", "graphql": "CCCD"}  # fmt: skip
ERROR = "@error"  # a GraphQL record's setting that is not in it: an error the answer lists beside the records
EDGE = '"@@EDGE@@"'  # in that error, where the record's place on the page goes


@dataclass(frozen=True)
class Raw:
    """Bytes written into the page as they are (a JSON value with its quotes; an XML element's content)."""

    data: bytes


@dataclass(frozen=True)
class Text:
    """A text value, encoded the way the page's format writes text."""

    value: str


@dataclass(frozen=True)
class Value:
    """Any JSON value (JSON pages), or element content (XML pages: a dict/list becomes child elements)."""

    value: Any


Setting = Raw | Text | Value
WHOLE = "."  # the path that replaces the whole record (a record that is a string, a number…)


def json_text(value: Any) -> bytes:
    """JSON as a sender writes it: non-ASCII as is, except what UTF-8 cannot carry (lone surrogates: escaped);
    NaN and ±Infinity as the bare tokens Python writes."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=True).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, ensure_ascii=True, allow_nan=True).encode("ascii")


def xml_text(value: Any) -> bytes:
    """Element content: text escaped; a dict or list as child elements (names made XML-safe)."""
    if isinstance(value, dict):
        return b"".join(b"<%s>%s</%s>" % (_tag(k), xml_text(v), _tag(k)) for k, v in value.items())
    if isinstance(value, list):
        return b"".join(b"<item>%s</item>" % xml_text(v) for v in value)
    if value is None:
        return b""
    text = value if isinstance(value, str) else json.dumps(value, allow_nan=True)
    return escape(text).encode("utf-8", "surrogatepass")


def csv_cell(value: Any) -> bytes:
    """A cell as a CSV writer writes it: text quoted when it holds a comma, a quote or a line break; any other
    value as its JSON text."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, allow_nan=True)
    if any(c in text for c in ',"\r\n'):
        text = '"' + text.replace('"', '""') + '"'
    return text.encode("utf-8", "surrogatepass")


def rpc_value(value: Any) -> bytes:
    """A value as an XML-RPC marshaller writes it, inside its <value>: an int past 32 bits as Apache's <i8>, a text
    as is (what XML cannot carry makes the page no XML), a float as Python writes it (nan too)."""
    if isinstance(value, bool) or value is None or isinstance(value, float | str):
        return _marshalled(value)
    if isinstance(value, int):
        return b"<i8>%d</i8>" % value if not -(2**31) <= value < 2**31 else b"<int>%d</int>" % value
    if isinstance(value, list):
        return (
            b"<array><data>"
            + b"".join(b"<value>%s</value>" % rpc_value(v) for v in value)
            + b"</data></array>"
        )
    members = (
        b"<member><name>%s</name><value>%s</value></member>" % (escape(str(k)).encode("utf-8", "surrogatepass"),
                                                                  rpc_value(v))
        for k, v in value.items()
    )  # fmt: skip
    return b"<struct>" + b"".join(members) + b"</struct>"


# What XML 1.0 cannot carry, written as OOXML's `_xHHHH_` as Excel writes it (a `_x` that would read as one too).
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]|_(?=x[0-9A-Fa-f]{4}_)")
_EXCEL_EPOCH = datetime(1899, 12, 30)


def sheet_cell(value: Any) -> bytes:
    """A value as an xlsx cell's XML, as Excel holds it: a text inline (what XML cannot carry as `_xHHHH_`), a
    number, a boolean, a date or time as a date-formatted serial number (style 1: date and time, 2: date), an
    empty cell for None, a number no sheet holds (NaN, ±∞) as the error #NUM!, a list or object as its JSON."""
    if value is None:
        return b"<c/>"
    if isinstance(value, bool):
        return b'<c t="b"><v>%d</v></c>' % value
    if isinstance(value, float) and not math.isfinite(value):
        return b'<c t="e"><v>#NUM!</v></c>'
    if isinstance(value, int | float):
        return b"<c><v>%s</v></c>" % repr(value).encode()
    if isinstance(value, datetime | date):
        moment = value if isinstance(value, datetime) else datetime.combine(value, time())
        serial = (moment - _EXCEL_EPOCH) / timedelta(days=1)
        return b'<c s="%d"><v>%r</v></c>' % (1 if isinstance(value, datetime) else 2, serial)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, allow_nan=True)
    text = _NOT_XML.sub(lambda m: "_x005F_" if m[0] == "_" else f"_x{ord(m[0]):04X}_", text)
    return b'<c t="inlineStr"><is><t xml:space="preserve">%s</t></is></c>' % escape(text).encode("utf-8")


def _marshalled(value: Any) -> bytes:
    text = xmlrpc.client.Marshaller(encoding="utf-8", allow_none=True).dumps([value])
    inner = text[text.index("<value>") + len("<value>") : text.rindex("</value>")]
    return inner.encode("utf-8", "surrogatepass")


def _tag(name: Any) -> bytes:
    text = "".join(c if c.isascii() and (c.isalnum() or c in "_-") else "_" for c in str(name))
    return ("k" + text if not text[:1].isalpha() else text).encode()


def encode(setting: Setting, fmt: str) -> bytes:
    if isinstance(setting, Raw):
        return setting.data
    value = setting.value
    if fmt == "csv":
        return csv_cell(value)
    if fmt == "xmlrpc":
        return rpc_value(value)
    if fmt == "xlsx":
        return sheet_cell(value)
    return json_text(value) if fmt == "json" else xml_text(value)


@dataclass
class Record:
    """One record of a page: its id as the mapping reads it, and its bytes as sent."""

    record_id: str | None
    data: bytes
    beside: dict[str, bytes] = field(default_factory=dict)  # an xlsx record's rows in the child sheets

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


class Builder:
    """Good records of every dialect, each with a fresh identity (MaHoSo and record ids unique in a run)."""

    def __init__(self, seed: int = 7, count: int = 20_000) -> None:
        config = GeneratorConfig(seed=seed, count=count, district="288", bad_rate=0.0)
        self.gen = DossierGenerator(config)
        self.shop = LegacyShop(
            LegacySettings(generator=config, nfd_rate=0.0, tcvn3_rate=0.0, vni_rate=0.0, utf8_rate=0.0)
        )
        self.clock = common.default_clock(config.start)
        self.count = count
        self.index = 0
        self._truth: list[dict[str, Any]] | None = None

    def truth(self, i: int) -> dict[str, Any]:
        """The i-th dossier of the vendors' ground truth (the CSV and XML-RPC protocols' records)."""
        if self._truth is None:
            from tests.vendors import truth

            self._truth = truth.generate("hostile", 7, self.count)
        return self._truth[i]

    def _take(self) -> int:
        i = self.index
        self.index = (self.index + 1) % self.count
        return i

    # --- one record ---------------------------------------------------------------------------------------

    def record(
        self, protocol: str, settings: dict[str, Setting] | None = None, planted: bool = False
    ) -> Record:
        """A good record of `protocol`'s dialect; `settings` (source path -> value) make it hostile, `planted`
        puts the planted personal data in its identity fields first."""
        i = self._take()
        rec = self.gen.record(i, self.clock)
        assert rec is not None
        wanted: dict[str, Setting] = {}
        if planted:
            paths = IDENTITY_PATHS[protocol]
            wanted = {
                paths["id_type"]: Text(CCCD_TYPE[protocol]),
                paths["id"]: Text(PLANTED["cccd"]),
                paths["phone"]: Text(PLANTED["phone"]),
                paths["email"]: Text(PLANTED["email"]),
            }
        wanted.update(settings or {})
        whole = WHOLE in wanted  # a record that is not an object (a string, a number): it has no id
        if protocol == "xmlrpc":
            from tests.vendors.odoo_jsonrpc.server import record as odoo_record

            item = self.truth(i)
            return Record(
                None if whole else item["source_record_id"], _rpc_with(odoo_record(item, i), wanted)
            )
        if protocol == "graphql":
            from tests.vendors.graphql_relay.server import render

            item, error = self.truth(i), wanted.pop(ERROR, None)
            edge = {"cursor": f"c{i}", "node": render(item)}
            beside = {"error": encode(error, "json")} if error is not None else {}
            return Record(None if whole else str(item["source_record_id"]), _json_with(edge, wanted), beside)
        if protocol == "xlsx":
            item = self.truth(i)
            return Record(None if whole else str(item["source_record_id"]), *_sheet_rows_with(item, wanted))
        if protocol == "csv":
            from tests.vendors.mongo_csv.server import COLUMNS, row

            item = self.truth(i)
            cells = dict(zip(COLUMNS, row(item), strict=True))
            return Record(None if whole else item["source_record_id"], _csv_with(cells, wanted))
        if FORMAT[protocol] == "json":
            doc = rec if protocol == "rest" else self._event(rec, i)
            return Record(None if whole else str(doc["id"]), _json_with(doc, wanted))
        if protocol == "xml":
            element, _ = self.shop.record(i, self.clock)  # type: ignore[misc]
            record_id = self.shop.record_id(i)
        else:
            element = soap_district.render_record(rec, i, "288")
            record_id = rec["id"]
        return Record(None if whole else record_id, _xml_with(element, wanted))

    @staticmethod
    def _event(rec: dict[str, Any], i: int) -> dict[str, Any]:
        """The LGSP feed's item for a record: {ack_id, seq, op, id, occurredAt, record} (feed simulator shape)."""
        record = feed_sim.to_dialect(rec, feed_sim.DEFAULT_AGENCY_NAME)
        return {
            "ack_id": f"ack-{i}",
            "seq": i + 1,
            "op": "upsert",
            "id": rec["id"],
            "occurredAt": record["LastModified"],
            "record": record,
        }

    # --- pages --------------------------------------------------------------------------------------------

    def good(self, protocol: str, n: int) -> list[Record]:
        return [self.record(protocol) for _ in range(n)]


def _json_with(doc: Any, settings: dict[str, Setting]) -> bytes:
    """The record as JSON text with each setting's bytes at its path (a placeholder swapped for the bytes)."""
    if WHOLE in settings:
        return encode(settings[WHOLE], "json")
    return _marked(
        doc,
        settings,
        "json",
        write=lambda d: json.dumps(d, ensure_ascii=False).encode("utf-8"),
        written=lambda mark: json.dumps(mark).encode(),
    )


def _marked(
    doc: Any,
    settings: dict[str, Setting],
    fmt: str,
    write: Callable[[Any], bytes],
    written: Callable[[str], bytes],
) -> bytes:
    """`doc` written by `write` with each setting's bytes at its path: a placeholder text is put there, and what
    `write` makes of it (`written`) swapped for the bytes."""
    doc = json.loads(json.dumps(doc))  # a copy
    marks: dict[bytes, bytes] = {}
    for n, (path, setting) in enumerate(settings.items()):
        mark = f"@@HOSTILE_{n}@@"
        _put(doc, path.split("."), mark)
        marks[written(mark)] = encode(setting, fmt)
    data = write(doc)
    for mark, raw in marks.items():
        data = data.replace(mark, raw, 1)
    return data


def _put(doc: Any, steps: list[str], value: Any) -> None:
    for k, step in enumerate(steps):
        last = k == len(steps) - 1
        if isinstance(doc, list):
            index = int(step)
            while len(doc) <= index:  # an empty list (a dossier without fees): the item the path needs
                doc.append({})
            if last:
                doc[index] = value
            else:
                doc = doc[index]
            continue
        if last:
            doc[step] = value
        else:
            if not isinstance(doc.get(step), dict | list):
                doc[step] = {}
            doc = doc[step]


def _rpc_with(doc: dict[str, Any], settings: dict[str, Setting]) -> bytes:
    """The record as an XML-RPC <value>, each setting's bytes as the content of the <value> at its path."""
    if WHOLE in settings:
        return b"<value>" + encode(settings[WHOLE], "xmlrpc") + b"</value>"
    return _marked(
        doc,
        settings,
        "xmlrpc",
        write=lambda d: b"<value>" + rpc_value(d) + b"</value>",
        written=lambda mark: b"<string>%s</string>" % mark.encode(),
    )


def _column(path: str) -> tuple[str, str]:
    """A source path as (its column, the path inside the column's JSON text): a column's name is one key even
    with dots in it (`applicant.fullname`, written `['applicant.fullname']` in a mapping); `history.0.content`
    is in `history`'s JSON."""
    if path.startswith("['"):
        column, _, inner = path[2:].partition("']")
        return column, inner.lstrip(".")
    return path.partition(".")[::2]


def _csv_with(cells: dict[str, str], settings: dict[str, Setting]) -> bytes:
    """The record as a CSV line: a setting at a column is its cell (bytes verbatim, or a value as a writer
    writes it); one inside a JSON column is written into that JSON text, which is then quoted as a cell."""
    if WHOLE in settings:
        return encode(settings[WHOLE], "csv") + b"\n"
    line = {k: csv_cell(v) for k, v in cells.items()}
    inner: dict[str, dict[str, Setting]] = {}
    for path, setting in settings.items():
        column, within = (path, "") if path in cells else _column(path)
        if column not in cells:
            raise ValueError(f"no such CSV column: {column!r}")
        if within:
            inner.setdefault(column, {})[within] = setting
        else:
            line[column] = encode(setting, "csv")
    for column, set_inside in inner.items():
        empty = [] if next(iter(set_inside)).split(".")[0].isdigit() else {}
        text = _json_with(json.loads(cells[column]) if cells[column] else empty, set_inside)
        line[column] = b'"' + text.replace(b'"', b'""') + b'"'
    return b",".join(line.values()) + b"\n"


# Where the excel_report mapping finds a dossier's child sheets (its registry entry's `nest`: into → sheet).
CHILD_SHEET = {"qua_trinh": "Quá trình xử lý", "le_phi": "Lệ phí", "giay_to": "Giấy tờ"}


def _sheet_rows_with(item: dict[str, Any], settings: dict[str, Setting]) -> tuple[bytes, dict[str, bytes]]:
    """The record as the excel_report vendor writes it: its row of the dossiers' sheet and its rows of each child
    sheet (cells in the header's order, none naming its place, as some writers do). A setting at a column is its
    cell, one at `qua_trinh.0.Bước` is that cell of its first row in the child sheet (made when it has none):
    bytes verbatim as an inline text's content, or the cell itself where they start with `<c`; a value as Excel
    holds it. "." replaces the dossier's row's cells with the bytes."""
    from tests.vendors.excel_report.server import CHILDREN, DOSSIER, child_rows, dossier_row

    rows = {"": [dict(zip(DOSSIER, map(sheet_cell, dossier_row(item)), strict=True))]} | {
        sheet: [dict(zip(CHILDREN[sheet], map(sheet_cell, row), strict=True)) for row in found]
        for sheet, found in child_rows(item).items()
    }
    if WHOLE in settings:
        return b"<row>" + encode(settings[WHOLE], "xlsx") + b"</row>", {}
    for path, setting in settings.items():
        into, _, within = path.partition(".")
        sheet, (n, column) = (
            (CHILD_SHEET[into], within.split(".", 1)) if into in CHILD_SHEET else ("", (0, path))
        )
        header = CHILDREN[sheet] if sheet else DOSSIER
        if column not in header:
            raise ValueError(f"no such sheet column: {path!r}")
        while len(rows[sheet]) <= int(n):  # a dossier without fees: the row the path needs, under its key
            rows[sheet].append(dict.fromkeys(header, b"<c/>") | {"Mã hồ sơ": sheet_cell(item["ma_ho_so"])})
        if not isinstance(setting, Raw):
            cell = encode(setting, "xlsx")
        elif setting.data.startswith(b"<c"):  # a cell written whole (an error cell, a type of its own)
            cell = setting.data
        else:
            cell = b'<c t="inlineStr"><is><t>%s</t></is></c>' % setting.data
        rows[sheet][int(n)][column] = cell
    written = {
        sheet: b"".join(b"<row>" + b"".join(r.values()) + b"</row>" for r in found)
        for sheet, found in rows.items()
    }
    return written.pop(""), written


def _xml_with(element: str, settings: dict[str, Setting]) -> bytes:
    """The record element with each setting's bytes as the content of the element at its path (created when
    missing); `@Name` paths set an attribute."""
    if WHOLE in settings:
        return encode(settings[WHOLE], "xml")
    if not settings:
        return element.encode("utf-8")
    root = etree.fromstring(element.encode("utf-8"))
    marks: dict[bytes, bytes] = {}
    for n, (path, setting) in enumerate(settings.items()):
        mark = f"@@HOSTILE_{n}@@"
        steps = path.split(".")
        node = root
        for step in steps[:-1]:
            child = node.find(step)
            node = child if child is not None else etree.SubElement(node, step)
        last = steps[-1]
        if last.startswith("@"):
            node.set(last[1:], mark)
            if not isinstance(setting, Raw):  # an attribute holds text only: quoted, elements flattened
                value = setting.value
                text = (
                    value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, allow_nan=True)
                )
                setting = Raw(escape(text, {'"': "&quot;"}).encode("utf-8", "surrogatepass"))
        else:
            child = node.find(last)
            if child is None:
                child = etree.SubElement(node, last)
            for sub in list(child):
                child.remove(sub)
            child.text = mark
        marks[mark.encode()] = encode(setting, "xml")
    data = etree.tostring(root, encoding="utf-8")
    for mark, raw in marks.items():
        data = data.replace(mark, raw, 1)
    return data


# --- envelopes ---------------------------------------------------------------------------------------------


def page_body(protocol: str, records: list[Record]) -> bytes:
    """One page of `records` as the protocol's system answers it (all records on one page)."""
    rows = [r.data for r in records]
    n = len(rows)
    if protocol == "rest":
        return b'{"content":[' + b",".join(rows) + b'],"number":0,"size":200,"numberOfElements":%d}' % n
    if protocol == "feed":
        return b'{"events":[' + b",".join(rows) + b'],"lease_seconds":600}'
    if protocol == "xmlrpc":  # web_search_read's {length, records}
        return (
            b"<?xml version='1.0'?>\n<methodResponse><params><param><value><struct>"
            b"<member><name>length</name><value><int>%d</int></value></member>"
            b"<member><name>records</name><value><array><data>"
            % n
            + b"".join(rows)
            + b"</data></array></value></member></struct></value></param></params></methodResponse>"
        )
    if protocol == "xlsx":
        return workbook(records)
    if (
        protocol == "graphql"
    ):  # a Relay connection, and the errors listed beside it (each at its record's place)
        errors = [
            r.beside["error"].replace(EDGE.encode(), b"%d" % k)
            for k, r in enumerate(records)
            if "error" in r.beside
        ]
        return (
            b'{"data":{"hoSoThayDoi":{"totalCount":%d,"pageInfo":{"endCursor":null,"hasNextPage":false},"edges":['
            % n
            + b",".join(rows)
            + b"]}}"
            + (b',"errors":[' + b",".join(errors) + b"]" if errors else b"")
            + b"}"
        )
    if protocol == "csv":  # mongoexport's header, after the BOM the vendor writes for Excel
        from tests.vendors.mongo_csv.server import COLUMNS

        return "\ufeff".encode() + ",".join(COLUMNS).encode() + b"\n" + b"".join(rows)
    if protocol == "xml":
        return (
            b'<?xml version="1.0" encoding="utf-8"?><KetQua><ErrorCode>0</ErrorCode><ErrorMessage />'
            b"<TotalCount>%d</TotalCount><currPage>1</currPage><lastPage>1</lastPage><DanhSach>"
            % n
            + b"".join(rows)
            + b"</DanhSach></KetQua>"
        )
    env = SOAP_ENV[protocol].encode()
    return (
        b'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="' + env + b'"><soap:Body>'
        b'<LayDanhSachHoSoResponse xmlns="urn:motcua:hoso:v1"><TongSo>%d</TongSo><Trang>1</Trang>'
        b"<DanhSachHoSo>"
        % n
        + b"".join(rows)
        + b"</DanhSachHoSo></LayDanhSachHoSoResponse></soap:Body></soap:Envelope>"
    )


_SPREADSHEET = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships"


def workbook(records: list[Record], after: bytes = b"") -> bytes:
    """The excel_report vendor's workbook written part by part, as a writer unlike openpyxl would: each sheet's
    rows of the records under the report's title and the sheet's header (and `after` the dossiers', XML of its
    own); no cell or row names its place; dates in the built-in formats 22 (date and time) and 14 (date)."""
    from tests.vendors.excel_report.server import CHILDREN, DOSSIER

    sheets = {"Hồ sơ": (DOSSIER, b"".join(r.data for r in records) + after)} | {
        name: (header, b"".join(r.beside.get(name, b"") for r in records))
        for name, header in CHILDREN.items()
    }

    def line(*values: Any) -> bytes:
        return b"<row>" + b"".join(sheet_cell(v) for v in values) + b"</row>"

    parts = {
        "[Content_Types].xml": (
            b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            b'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            b'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName='
            b'"/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.'
            b'main+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PACKAGE}"><Relationship Id="r1" '
            f'Type="{_RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ).encode(),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{_SPREADSHEET}" xmlns:r="{_RELATIONSHIPS}">'
            "<sheets>"
            + "".join(f'<sheet name="{n}" sheetId="{k}" r:id="s{k}"/>' for k, n in enumerate(sheets, 1))
            + "</sheets></workbook>"
        ).encode(),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PACKAGE}">'
            + "".join(
                f'<Relationship Id="s{k}" Type="{_RELATIONSHIPS}/worksheet" Target="worksheets/s{k}.xml"/>'
                for k in range(1, len(sheets) + 1)
            )
            + f'<Relationship Id="st" Type="{_RELATIONSHIPS}/styles" Target="styles.xml"/></Relationships>'
        ).encode(),
        "xl/styles.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{_SPREADSHEET}"><cellXfs count="3">'
            '<xf numFmtId="0"/><xf numFmtId="22" applyNumberFormat="1"/><xf numFmtId="14" applyNumberFormat="1"/>'
            "</cellXfs></styleSheet>"
        ).encode(),
    }
    for k, (header, body) in enumerate(sheets.values(), 1):
        parts[f"xl/worksheets/s{k}.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_SPREADSHEET}"><sheetData>'.encode()
            + line("BÁO CÁO CHI TIẾT HỒ SƠ THỦ TỤC HÀNH CHÍNH")
            + line("Từ 01/01/2025 00:00 đến 31/12/2026 23:59")
            + b"<row/>"
            + line(*header)
            + body
            + b"</sheetData></worksheet>"
        )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


def empty_body(protocol: str) -> bytes:
    """The page after the last one (a paged REST system's empty page; a drained feed)."""
    return page_body(protocol, [])


@dataclass
class Page:
    """What a hostile input serves: its HTTP answers, and the records it holds (good ones by id)."""

    replies: list[Any]  # tests.hostile.server.Reply
    good_ids: list[str] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)


BodyGenerator = Callable[..., Page]
