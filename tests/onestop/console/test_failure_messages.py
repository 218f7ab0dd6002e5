"""Every way a call to a district system or the portal can fail is shown in Vietnamese: the console parses what a
connector error says (its endpoint, the operation or page it was in, then the message: onestop.console.words),
none falls through to "Khác: <the English text>", none ends in English words of ours.

The messages are the connectors' own: real sources (a registry entry, a connection) against real HTTP servers
that answer with HTTP errors, bodies that are not JSON or XML, the wrong shape, error envelopes, paging loops,
totals that shrink, answers over the cap, refused credentials, SOAP Faults and a TLS handshake with a plain
server. Each failure is stored as the pipeline stores it: a task failure's or a refused page's message (str(exc),
quoted as connectors.store.attempts writes it), a failed call's attempt row as the failure's history tells it
(connectors.store.failure_detail), "<class>: <message>" as a failed delivery's trace and a circuit's last error
write it; and rendered by the console's own functions (failure_message, history_detail, trace_detail, reason).
A pseudo-locale (tests/onestop/console/test_pseudo_locale.py) shows what came from the catalog: what is left
once it, the technical text in <code> and the data the servers planted are taken out holds no English word."""

from __future__ import annotations

import gzip
import html
import io
import json
import re
import socket
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from connectors.connection import Connection
from connectors.errors import AuthError, ConnectorError, ProtocolError, RefusedAnswer, TransientError
from connectors.factory import open_source
from connectors.http import HttpClient, HttpSettings
from connectors.portal import PortalClient
from onestop import registry
from onestop.console import words
from onestop.simulators.soap_district import ADDRESS_SLOT, WSDL_TEMPLATE
from schemas.personal_data import MESSAGE_CAP, mask_text, quote_answer
from tests.connectors.scripted_server import Answer, Dripping, routed_server, serving
from tests.connectors.test_soap import mtom
from tests.connectors.test_spreadsheet import far_xlsx, fees_xls, with_shared_strings, xlsx
from tests.onestop.console.test_pseudo_locale import pseudo
from tests.onestop.console.test_reasons import OTHER

JSON = {"Content-Type": "application/json; charset=utf-8"}
XML = {"Content-Type": "text/xml; charset=utf-8"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
LOCALES = Path(__file__).resolve().parents[3] / "onestop" / "console" / "locale"


def body(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


@dataclass
class Case:
    """A source (its registry entry's protocol section) and what its system answers, by path (a list: one answer
    after the other, then the last again)."""

    kind: str
    spec: dict[str, Any]
    answers: dict[str, Answer | list[Answer]]
    expected: type[ConnectorError]
    says: str  # a piece of the message: the failure is the one the case means
    entry: dict[str, Any] = field(default_factory=dict)  # the registry entry's other fields
    scheme: str = "http"  # or https, closed (nothing listens), drip (the answer comes a few bytes at a time)


def rest(**spec: Any) -> dict[str, Any]:
    return {"request": {"path": "/ds", "query": {"page": "{page}"}}, "records": "items",
            "paginator": {"type": "single"}} | spec  # fmt: skip


def paged(**paginator: Any) -> dict[str, Any]:
    return rest(paginator={"type": "page_number", "page_size": 1} | paginator)


SCROLL = rest(request={"method": "POST", "path": "/ds", "query": {"scroll": "1m"}},
              paginator={"type": "cursor", "cursor_path": "_scroll_id", "stop": "empty_page",
                         "next_request": {"method": "POST", "path": "/scroll", "json": {"scroll_id": "{cursor}"}}})  # fmt: skip
SCROLL_GONE = {"error": {"root_cause": [{"type": "search_context_missing_exception",
                                         "reason": "No search context found for id [7]"}],
                         "type": "search_phase_execution_exception", "reason": "all shards failed"}, "status": 404}  # fmt: skip
ENVELOPE = [{"when": {"path": "ok", "equals": False}, "code": "code", "message": "msg"}]
ITEMS = body({"items": [{"id": 1}]})
ONE = (200, JSON, ITEMS)
WSDL = WSDL_TEMPLATE.read_text(encoding="utf-8")


def soap_body(inner: str) -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP11}"><soap:Body>{inner}'
            "</soap:Body></soap:Envelope>").encode()  # fmt: skip


def fault(code: str, text: str) -> bytes:
    return soap_body(
        f"<soap:Fault><faultcode>soap:{code}</faultcode><faultstring>{text}</faultstring></soap:Fault>"
    )


SOAP_SPEC = {"wsdl": "/soap?wsdl", "operation": "LayDanhSachHoSo", "records": "DanhSachHoSo.HoSo",
             "request": {"Trang": "{page}", "SoBanGhi": "{page_size}"},
             "paginator": {"type": "page_number", "page_size": 2, "stop": "total_count", "total_path": "TongSo"}}  # fmt: skip
FEED_SPEC = {"fetch": {"method": "POST", "path": "/feed/fetch"}, "items": "events", "ack_id": "ack_id",
             "ack": {"method": "POST", "path": "/feed/ack", "json": {"ack_ids": "{ack_ids}"}}, "acked_path": "acked",
             "auth": {"type": "api_key", "in": "header", "name": "X-API-Key"}}  # fmt: skip
# A WSDL importing a schema from its application server's own host (a proxied JAX-WS service), not served here.
IMPORT = (
    '<xs:schema targetNamespace="urn:khac"><xs:import namespace="urn:noi-bo" '
    'schemaLocation="http://app01.motcua.local:8080/noi-bo.xsd"/></xs:schema>'
)
DEEP = b'{"items": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}"
LISTED = (
    (  # a page of LayDanhSachHoSo whose dossier's file is an MTOM attachment (%s: its xop:Include)
        f'<soap:Envelope xmlns:soap="{SOAP11}"><soap:Body><LayDanhSachHoSoResponse xmlns="urn:motcua:hoso:v1">'
        "<TongSo>1</TongSo><DanhSachHoSo><HoSo><MaHoSo>A</MaHoSo><Tep>%s</Tep></HoSo></DanhSachHoSo>"
        "</LayDanhSachHoSoResponse></soap:Body></soap:Envelope>"
    )
    .encode()
    .replace(b"%s</Tep>", b"%b</Tep>")
)
INCLUDE = b'<xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:%s"/>'
SHEET = xlsx(["ma", "ten"], ["H1", "Một"], title="Báo cáo")  # a workbook whose one sheet is not the one asked
PORTAL_LOGIN = (200, JSON, body({"error_code": "0", "session": "phien-1"}))
OAUTH = {"type": "oauth2_client_credentials", "token_url": "/oauth/token"}
LOGIN = {"type": "login", "request": {"method": "POST", "path": "/dang-nhap", "form": {"u": "{login}"}}}

# A Laravel-style login form: its page read first for the hidden _token, posted back with the credentials.
FORM_LOGIN = LOGIN | {"request": {"method": "POST", "path": "/dang-nhap", "form": {"_token": "{csrf}"}},
                      "login_page": {"path": "/dang-nhap", "field": "_token"}}  # fmt: skip
FORM = b'<html><body><form>%s<input type="hidden" name="_token" value="t-1"></form></body></html>'

CSV_SPEC = {"request": {"path": "/ds"}, "answer": "csv", "paginator": {"type": "single"}}


def zipped(name: str) -> bytes:
    """A ZIP archive holding one CSV file under `name`."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:  # dated, not now: the same bytes every run
        archive.writestr(zipfile.ZipInfo(name, date_time=(2025, 7, 1, 8, 0, 0)), "ma\nA\n")
    return out.getvalue()


ZIPPED = zipped("hoso.csv")

CASES: dict[str, Case] = {
    # HTTP errors: the system's own words after the status
    "http_500": Case("rest", rest(), {"/ds": (500, JSON, body({"message": "Lỗi máy chủ nội bộ"}))},
                     TransientError, "HTTP 500: "),
    "http_503_retried": Case("rest", rest(), {"/ds": (503, JSON, body({"message": "Hệ thống đang bảo trì"}))},
                             TransientError, "HTTP 503: ", entry={"max_attempts": 2}),
    "csv_header_twice": Case("rest", {"request": {"path": "/ds"}, "answer": "csv", "paginator": {"type": "single"}},
                             {"/ds": (200, {"Content-Type": "text/csv"}, "Mã,Ngày,Ngày\nA,1,2\n".encode())},
                             ProtocolError, "the header names 'Ngày' twice"),
    "spreadsheet_html": Case("rest", {"request": {"path": "/ds"}, "answer": "spreadsheet",
                                      "paginator": {"type": "single"}},
                             {"/ds": (200, HTML, "<p>Phiên làm việc hết hạn</p>".encode())},
                             RefusedAnswer, "an export of HTML tables is read with `html: true`"),
    "redirect_loop": Case("rest", rest(), {"/ds": (302, {"Location": "/dang-nhap?ReturnUrl=%2Fds"}, b""),
                                           "/dang-nhap": (302, {"Location": "/ds"}, b"")},
                          ProtocolError, "TooManyRedirects"),
    "redirect_away_with_body": Case("rest", {"request": {"method": "POST", "path": "/ds", "json": {"p": "{password}"}},
                                             "records": "items", "paginator": {"type": "single"}},
                                    {"/ds": (307, {"Location": "http://localhost:9/x"}, b"Moved: http://localhost:9/x")},
                                    ProtocolError, "redirected with its body to another host"),
    "token_line_break": Case("rest", rest(auth=OAUTH),
                             {"/oauth/token": (200, JSON, body({"access_token": "ma\r\nX-Chen: 1", "expires_in": 60}))},
                             ProtocolError, "a header holds what HTTP cannot carry"),
    "gzip_lie": Case("rest", rest(), {"/ds": (200, {"Content-Encoding": "gzip", **JSON}, b"{}")},
                     TransientError, "ContentDecodingError"),
    "csv_html": Case("rest", {"request": {"path": "/ds"}, "answer": "csv", "paginator": {"type": "single"}},
                     {"/ds": (200, HTML, "<p>Phiên làm việc hết hạn</p>".encode())},
                     RefusedAnswer, "answer is not CSV: it is HTML"),
    "csv_zip": Case("rest", CSV_SPEC, {"/ds": (200, {"Content-Type": "application/zip"}, ZIPPED)}, RefusedAnswer,
                    "answer is not CSV: it is a ZIP archive"),
    "csv_not_the_export": Case("rest", CSV_SPEC | {"csv": {"required_columns": ["Mã hồ sơ"]}},
                               {"/ds": (200, {"Content-Type": "text/csv"}, "Lỗi: phiên đăng nhập hết hạn\n".encode())},
                               RefusedAnswer, "the answer's header names no column 'Mã hồ sơ'"),
    "zip_outside": Case("rest", CSV_SPEC | {"archive": {"format": "zip"}},
                        {"/ds": (200, {"Content-Type": "application/zip"}, zipped("../hoso.csv"))}, RefusedAnswer,
                        "the ZIP archive names a file outside itself"),
    "gzip_cut": Case("rest", CSV_SPEC | {"archive": {"format": "gzip"}},
                     {"/ds": (200, {"Content-Type": "application/gzip"}, gzip.compress(b"ma\nA\n", mtime=0)[:-12])},
                     RefusedAnswer, "answer is not gzip-compressed"),
    "ndjson_xml": Case("rest", {"request": {"path": "/ds"}, "answer": "ndjson", "paginator": {"type": "single"}},
                       {"/ds": (200, {"Content-Type": "application/x-ndjson"}, b"<?xml version='1.0'?><loi/>")},
                       RefusedAnswer, "answer is not NDJSON: it is markup"),
    "spreadsheet_html_deep": Case("rest", {"request": {"path": "/ds"}, "answer": "spreadsheet",
                                           "sheet": {"html": True, "sheet": "gv"}, "paginator": {"type": "single"}},
                                  {"/ds": (200, {"Content-Type": "application/vnd.ms-excel"},
                                           b'<table id="gv"><tr><td>' + b"<b>" * 300 + b"</td></tr></table>")},
                                  RefusedAnswer, "nested too deep"),
    "spreadsheet_sheet": Case("rest", {"request": {"path": "/ds"}, "answer": "spreadsheet",
                                       "sheet": {"sheet": "HoSo"}, "paginator": {"type": "single"}},
                              {"/ds": (200, {}, SHEET)}, ProtocolError, "has no sheet 'HoSo'"),
    "spreadsheet_far": Case("rest", {"request": {"path": "/ds"}, "answer": "spreadsheet",
                                     "paginator": {"type": "single"}},
                            {"/ds": (200, {}, far_xlsx())}, RefusedAnswer, "spans 1,048,576 rows by 16,384 columns"),
    "graphql_list_nulled": Case("rest", {"request": {"method": "POST", "path": "/ds", "graphql": {"query": "{ l { x } }"}},
                                         "records": {"path": "data.l", "record_errors": "graphql"},
                                         "paginator": {"type": "single"}},
                                {"/ds": (200, JSON, body({"data": {"l": None}, "errors": [
                                    {"message": "Trường x bắt buộc bị rỗng", "path": ["l", 4, "x"]}]}))},
                                ProtocolError, "the system reported an error at its records (l[4].x) and sent none"),
    "rows_no_columns": Case("rest", rest(records={"path": "data", "rows": {"columns_path": "meta"}}),
                            {"/ds": (200, JSON, body({"data": [["1", "Lê Văn A"]]}))},
                            RefusedAnswer, "no columns at 'meta' (rows.columns_path)"),
    "rows_header_twice": Case("rest", rest(records={"path": "values", "rows": {"header": True}}),
                              {"/ds": (200, JSON, body({"values": [["Mã", "Mã"], ["1", "2"]]}))},
                              RefusedAnswer, "'Mã' names the columns at positions 1 and 2"),
    "rows_header_control": Case("rest", rest(records={"path": "values", "rows": {"header": True}}),
                                {"/ds": (200, JSON, body({"values": [["Mã", "T\u0001n"], ["1", "2"]]}))},
                                RefusedAnswer, "the columns named at 'values[0]' cannot be read: a control character"),
    "rows_meta_control": Case("rest", rest(records={"path": "data", "rows": {"columns_path": "meta"}}),
                              {"/ds": (200, JSON, body({"meta": ["Mã", "T\u0001n"], "data": [["1", "2"]]}))},
                              RefusedAnswer, "the name of the column at position 2 holds a control character"),
    "spreadsheet_lying_count": Case("rest", {"request": {"path": "/ds"}, "answer": "spreadsheet",
                                             "paginator": {"type": "single"}},
                                    {"/ds": (200, {}, with_shared_strings(SHEET, 4294967295, 3))}, RefusedAnswer,
                                    "says it holds 4,294,967,295 items"),
    "spreadsheet_xls_torn": Case("rest", {"request": {"path": "/ds"}, "answer": "spreadsheet",
                                          "paginator": {"type": "single"}},
                                 {"/ds": (200, {}, fees_xls()[:3000])}, RefusedAnswer, "answer is not a spreadsheet (IndexError: "),
    "http_503_empty": Case("rest", rest(), {"/ds": (503, JSON, b"")}, TransientError, "HTTP 503"),
    "http_404": Case("rest", rest(), {"/ds": (404, HTML, "<h1>Không tìm thấy trang</h1>".encode())},
                     ProtocolError, "HTTP 404: "),
    "http_401": Case("rest", rest(), {"/ds": (401, JSON, body({"loi": "Hết phiên làm việc"}))}, AuthError,
                     "HTTP 401: "),
    # credentials
    "token_401": Case("rest", rest(auth=OAUTH), {"/oauth/token": (401, JSON, body({"error": "invalid_client"}))},
                      AuthError, "token: HTTP 401"),
    "token_missing": Case("rest", rest(auth=OAUTH), {"/oauth/token": (200, JSON, body({"ma": "khong_co"}))},
                          AuthError, "token: no token at 'access_token'"),
    "token_not_json": Case("rest", rest(auth=OAUTH), {"/oauth/token": (200, HTML, "Đăng nhập".encode())},
                           ProtocolError, "token: answer is not JSON"),
    "login_no_cookie": Case("rest", rest(auth=LOGIN), {"/dang-nhap": (200, JSON, b"{}")}, AuthError,
                            "login: the answer set no session cookie"),
    "login_no_token": Case("rest", rest(auth=LOGIN | {"token_path": "data.token", "header": "Authorization"}),
                           {"/dang-nhap": (200, JSON, body({"data": {}}))}, AuthError, "login: no token at"),
    "login_page_no_token": Case("rest", rest(auth=FORM_LOGIN), {"/dang-nhap": (200, HTML, b"<form></form>")},
                                ProtocolError, "login page: no hidden input '_token'"),
    "login_page_again": Case("rest", rest(auth=FORM_LOGIN),
                             {"/dang-nhap": (200, HTML, FORM % '<div class="alert">Sai mật khẩu</div>'.encode())},
                             AuthError, "login: refused, the login page again: Sai mật khẩu"),
    "login_page_silent": Case("rest", rest(auth=FORM_LOGIN), {"/dang-nhap": (200, HTML, FORM % b"")},
                              AuthError, "login: refused, the login page again: (it says nothing)"),
    "session_ended": Case("rest", rest(auth=FORM_LOGIN | {"token_path": "token", "header": "Authorization"}),
                          {"/dang-nhap": [(200, HTML, FORM % b""), (200, JSON, body({"token": "t"}))] * 2,
                           "/ds": (200, HTML, FORM % b"")},
                          AuthError, "page: the session ended: the answer is the login page (/ds)"),
    # answers that are not JSON, or too much of it
    "not_json": Case("rest", rest(), {"/ds": (200, JSON, "<html>Bảo trì hệ thống</html>".encode())},
                     RefusedAnswer, "answer is not JSON ("),
    "second_value": Case("rest", rest(), {"/ds": (200, JSON, ITEMS + b"\n" + ITEMS)}, RefusedAnswer,
                         "a second value follows the first"),
    "cut_short": Case("rest", rest(), {"/ds": (200, JSON, b'{"items": [{"id": 1},')}, RefusedAnswer,
                      "answer is not JSON ("),
    "too_deep": Case("rest", rest(), {"/ds": (200, JSON, DEEP)}, RefusedAnswer, "nested too deep"),
    "over_cap": Case("rest", rest(), {"/ds": (200, JSON | {"Content-Length": "99999999999"}, ITEMS)},
                     RefusedAnswer, "-byte cap"),
    # the wrong shape
    "no_list_keys": Case("rest", rest(), {"/ds": (200, JSON, body({"data": [], "tong": 0}))}, RefusedAnswer,
                         "no list of records at 'items': the answer's keys are"),
    "no_list_found": Case("rest", rest(), {"/ds": (200, JSON, body({"items": "không có"}))}, RefusedAnswer,
                          "no list of records at 'items': found"),
    "no_total": Case("rest", paged(stop="total_count", total_path="tong"),
                     {"/ds": (200, JSON, body({"items": [{"id": 1}], "tong": "nhiều"}))}, ProtocolError,
                     "no number at 'tong'"),
    # error envelopes inside HTTP 200
    "envelope_code": Case("rest", rest(errors=ENVELOPE),
                          {"/ds": (200, JSON, body({"ok": False, "code": "E42", "msg": "Sai tham số ngày"}))},
                          ProtocolError, "the system answered an error E42: "),
    "envelope_auth": Case("rest", rest(errors=[{**ENVELOPE[0], "means": "auth"}]),
                          {"/ds": (200, JSON, body({"ok": False, "msg": "Khóa truy cập hết hạn"}))}, AuthError,
                          "the system answered an error: "),
    "envelope_transient": Case("rest", rest(errors=[{**ENVELOPE[0], "means": "transient"}]),
                               {"/ds": (200, JSON, body({"ok": False, "code": 503, "msg": "Hệ thống bận"}))},
                               TransientError, "the system answered an error 503: "),
    # paging that never ends, or loses records
    "cursor_loop": Case("rest", rest(request={"path": "/ds", "query": {"sau": "{cursor}"}},
                                     paginator={"type": "cursor", "cursor_path": "sau"}),
                        {"/ds": (200, JSON, body({"items": [{"id": 1}], "sau": "c-42"}))}, ProtocolError,
                        "the cursor 'c-42' came back again (a loop)"),
    "cursor_too_long": Case("rest", rest(request={"path": "/ds", "query": {"sau": "{cursor}"}},
                                         paginator={"type": "cursor", "cursor_path": "sau"}),
                            {"/ds": (200, JSON, body({"items": [{"id": 1}], "sau": "c" * (1 << 20 | 1)}))}, ProtocolError,
                            "characters long, past the 1048576 a cursor may hold"),
    "cursor_of_another_kind": Case("rest", rest(request={"method": "POST", "path": "/ds",
                                                         "json": {"ExclusiveStartKey": "{cursor}"}},
                                                paginator={"type": "cursor", "cursor_path": "LastEvaluatedKey",
                                                           "cursor_type": "object"}),
                                   {"/ds": (200, JSON, body({"items": [{"id": 1}], "LastEvaluatedKey": "k-1"}))},
                                   ProtocolError, "is a text, not the object this source's paginator sends back"),
    # the place a system keeps for the reader's next run (rest.resume), which cannot be kept
    "resume_object": Case("rest", rest(paginator={"type": "next_link", "next_path": "tiep"},
                                       resume={"path": "delta"}),
                          {"/ds": (200, JSON, body({"items": [{"id": 1}], "delta": {"token": "t"}}))}, ProtocolError,
                          "holds an object, not the text of a link or a cursor"),
    "resume_too_long": Case("rest", rest(paginator={"type": "next_link", "next_path": "tiep"},
                                         resume={"path": "delta"}),
                            {"/ds": (200, JSON, body({"items": [{"id": 1}], "delta": "d" * (1 << 20 | 1)}))},
                            ProtocolError, "characters long, past the 1048576 it may hold"),
    "resume_control": Case("rest", rest(paginator={"type": "next_link", "next_path": "tiep"},
                                        resume={"path": "delta"}),
                           {"/ds": (200, JSON, body({"items": [{"id": 1}], "delta": "/ds?token=a\u0007b"}))},
                           ProtocolError, "holds a control character or a lone surrogate"),
    # a cursor that lives on the system (Elasticsearch's scroll), expired between two pages (stuck on one page, it
    # fails as page_ignored does)
    "scroll_expired": Case("rest", SCROLL, {"/ds": (200, JSON, body({"items": [{"id": 1}], "_scroll_id": "s-1"})),
                                            "/scroll": (404, JSON, body(SCROLL_GONE))}, ProtocolError,
                           "search_context_missing_exception"),
    "link_loop": Case("rest", rest(paginator={"type": "next_link", "next_path": "tiep"}),
                      {"/ds": (200, JSON, body({"items": [{"id": 1}], "tiep": "/ds?page=2"}))}, ProtocolError,
                      "came back again (a loop)"),
    "shrinking": Case("rest", paged(stop="total_count", total_path="tong"),
                      {"/ds": [(200, JSON, body({"items": [{"id": n}], "tong": 100 - n})) for n in range(30)]},
                      ProtocolError, "the list shrank while it was read"),
    "page_ignored": Case("rest", paged(), {"/ds": (200, JSON, ITEMS)}, ProtocolError,
                         "the same 1 records as the page before: the system ignores the page"),
    "empty_before_total": Case("rest", paged(stop="total_count", total_path="tong"),
                               {"/ds": [(200, JSON, body({"items": [{"id": 1}], "tong": 9})),
                                        (200, JSON, body({"items": [], "tong": 9})),
                                        (200, JSON, body({"items": [], "tong": 9}))]},
                               ProtocolError, "no records, yet the system's total says 9 records"),
    "empty_before_pages": Case("rest", paged(stop="total_pages", total_pages_path="trang"),
                               {"/ds": [(200, JSON, body({"items": [{"id": 1}], "trang": 9})),
                                        (200, JSON, body({"items": [], "trang": 9})),
                                        (200, JSON, body({"items": [], "trang": 9}))]},
                               ProtocolError, "no records, yet the system's total says 9 pages"),
    # a document written as text inside the answer
    "embedded_missing": Case("rest", rest(embedded={"path": "d", "format": "json"}, records=""),
                             {"/ds": (200, JSON, body({"ketQua": 1}))}, RefusedAnswer, "no embedded document"),
    "embedded_kind": Case("rest", rest(embedded={"path": "d", "format": "json"}, records=""),
                          {"/ds": (200, JSON, body({"d": 5}))}, RefusedAnswer, "'d' holds int, not json text"),
    "embedded_base64": Case("rest", rest(embedded={"path": "d", "format": "json", "base64": True}, records=""),
                            {"/ds": (200, JSON, body({"d": "@@@"}))}, RefusedAnswer, "is not base64"),
    "embedded_not_json": Case("rest", rest(embedded={"path": "d", "format": "json"}, records=""),
                              {"/ds": (200, JSON, body({"d": "[{\"id\": 1"}))}, RefusedAnswer,
                              "the text at 'd': answer is not JSON"),
    # XML answers
    "xml_dtd": Case("xml", rest(answer="xml", records="HoSo"),
                    {"/ds": (200, XML, b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>')},
                    RefusedAnswer, "carries a DTD"),
    # a forbidden character that no mending makes a value: in an element's name
    "xml_control_in_a_name": Case("xml", rest(answer="xml", records="HoSo"),
                                  {"/ds": (200, XML, b"<DanhSach><Ho\x01So/></DanhSach>")}, RefusedAnswer,
                                  "not well-formed XML"),
    "xml_broken": Case("xml", rest(answer="xml", records="HoSo"), {"/ds": (200, XML, b"<DanhSach><HoSo></DanhSach>")},
                       RefusedAnswer, "not well-formed XML"),
    "xml_xinclude": Case("xml", rest(answer="xml", records="HoSo"),
                         {"/ds": (200, XML, b'<a xmlns:xi="http://www.w3.org/2001/XInclude">'
                                            b'<xi:include href="/etc/passwd"/></a>')},
                         RefusedAnswer, "XInclude"),
    "xml_pi": Case("xml", rest(answer="xml", records="HoSo"),
                   {"/ds": (200, XML, b'<?xml-stylesheet href="http://x/s.xsl"?><a/>')}, RefusedAnswer,
                   "processing instruction"),
    "xml_records_path": Case("xml", rest(answer="xml", records="HoSo"),
                             {"/ds": (200, XML, b"<Goc><DanhSach><HoSo/></DanhSach></Goc>")}, ProtocolError,
                             "below the root element"),
    # SOAP
    "wsdl_import_elsewhere": Case("soap", SOAP_SPEC | {"wsdl": "/khac?wsdl"},
                                  {"/khac": (200, XML, WSDL.replace("<xs:schema ", IMPORT + "<xs:schema ", 1).encode()),
                                   "/noi-bo.xsd": (404, XML, b"<loi>khong co</loi>")},
                                  ProtocolError, "which is not on the system's host; read at"),
    "soap_fault": Case("soap", SOAP_SPEC, {"/soap": (500, XML, fault("Client", "Tham số TuNgay không hợp lệ"))},
                       RefusedAnswer, "SOAP Fault soap:Client: "),
    "soap_fault_server": Case("soap", SOAP_SPEC, {"/soap": (500, XML, fault("Server", ""))}, TransientError,
                              "(no text)"),
    "soap_no_fault": Case("soap", SOAP_SPEC, {"/soap": (400, XML, soap_body("<X/>"))}, ProtocolError,
                          "HTTP 400 without a SOAP Fault"),
    "soap_no_body": Case("soap", SOAP_SPEC, {"/soap": (200, XML, f'<Envelope xmlns="{SOAP11}"/>'.encode())},
                         RefusedAnswer, "not a SOAP answer (no Body)"),
    "soap_mtom_missing": Case("soap", SOAP_SPEC, {"/soap": mtom(LISTED % INCLUDE % b"tep-1")}, RefusedAnswer,
                              "refers to attachment cid:tep-1, which it does not hold"),
    "soap_mtom_no_cid": Case("soap", SOAP_SPEC, {"/soap": mtom(LISTED % INCLUDE.replace(b' href="cid:%s"', b""))},
                             RefusedAnswer, "an xop:Include without a cid: reference"),
    # the record's detail, one call each
    "detail_all_failed": Case("rest", rest(detail={"request": {"path": "/hs/{id}"}, "values": {"id": "id"},
                                                   "record": "data"}),
                              {"/ds": (200, JSON, body({"items": [{"id": "1"}, {"id": "2"}, {"id": "3"}]})),
                               "/hs/": (200, JSON, b"Bad gateway")},
                              ProtocolError, "detail calls failed, the first: "),
    "detail_other_dossier": Case("rest", rest(detail={"request": {"path": "/hs/{id}"}, "values": {"id": "id"},
                                                      "record": "data"}),
                                 {"/ds": (200, JSON, body({"items": [{"id": "1"}, {"id": "2"}, {"id": "3"}]})),
                                  "/hs/": (200, JSON, body({"data": {"id": "9"}}))},
                                 ProtocolError, "the first: the detail answered for id '9', not '1'"),
    "detail_all_404": Case("rest", rest(detail={"request": {"path": "/hs/{id}"}, "values": {"id": "id"},
                                                "record": "data"}),
                           {"/ds": (200, JSON, body({"items": [{"id": "1"}, {"id": "2"}, {"id": "3"}]})),
                            "/hs/": (404, JSON, body({"message": "Không tìm thấy hồ sơ"}))},
                           ProtocolError, "the first: detail: HTTP 404: "),
    # a change feed
    "feed_no_items": Case("feed", FEED_SPEC, {"/feed/fetch": (200, JSON, body({"su_kien": []}))}, ProtocolError,
                          "no list of items at 'events'"),
    "feed_no_count": Case("feed", FEED_SPEC, {"/feed/fetch": (200, JSON, body({"events": [{"ack_id": "a1"}]})),
                                              "/feed/ack": (200, JSON, body({"ketqua": "da_nhan"}))},
                          ProtocolError, "ack: no count at 'acked'"),
    "feed_stuck": Case("feed", FEED_SPEC | {"fetch": {"method": "POST", "path": "/feed/fetch", "json": {"sau": "{after}"}},
                                            "position": {"request": {"path": "/feed/vi-tri"}, "path": "vi_tri"}},
                       {"/feed/vi-tri": (200, JSON, body({"vi_tri": "a1"})),
                        "/feed/fetch": (200, JSON, body({"events": [{"ack_id": "a1"}]}))},
                       ProtocolError, "fetch: the feed answered after 'a1' with no item past it"),
    # the national portal (deliveries)
    "portal_login": Case("portal", {}, {"/login": (200, JSON, body({"error_code": "1", "message": "Sai mật khẩu"}))},
                         AuthError, "login refused: "),
    "portal_error": Case("portal", {}, {"/login": PORTAL_LOGIN,
                                        "/integration": (200, JSON, body({"error_code": "7", "message": "Sai mã đơn vị"}))},
                         ProtocolError, "DongBoHoSoMC: error 7: "),
    "portal_results": Case("portal", {}, {"/login": PORTAL_LOGIN,
                                          "/integration": (200, JSON, body({"error_code": "0", "results": []}))},
                           ProtocolError, "DongBoHoSoMC: expected 1 results, got []"),
    "portal_strangers": Case("portal", {}, {"/login": PORTAL_LOGIN, "/integration": (200, JSON, body(
                                 {"error_code": "0", "results": [{"MaHoSo": "HS-9", "error_code": 0}]}))},
                             ProtocolError, "DongBoHoSoMC: the results name other dossiers than were sent (HS-9…)"),
    "portal_not_object": Case("portal", {}, {"/login": PORTAL_LOGIN, "/integration": (200, JSON, b"[]")},
                              ProtocolError, "DongBoHoSoMC: answer is not an object"),
    # the transport
    "tls": Case("rest", rest(), {"/ds": ONE}, ProtocolError, ": TLS: ", scheme="https"),
    "refused_connection": Case("rest", rest(), {}, TransientError, "ConnectionError: ", scheme="closed"),
    "dripping": Case("rest", rest(), {}, TransientError, "still coming after 0.5 s", entry={"answer_timeout_s": 0.5},
                     scheme="drip"),
}  # fmt: skip


@dataclass
class Failed:
    error: ConnectorError
    attempts: list[dict[str, Any]]
    planted: str  # what the servers said and where they are: data in the message


def route_by(
    answers: dict[str, Answer | list[Answer]], url: Callable[[], str]
) -> Callable[[str, bytes], Answer]:
    served: dict[str, int] = {}

    def route(path: str, _sent: bytes) -> Answer:
        split = urlsplit(path)
        if split.path == "/soap" and split.query == "wsdl":
            return 200, XML, WSDL.replace(ADDRESS_SLOT, f"{url()}/soap").encode()
        for prefix, answer in answers.items():
            if split.path == prefix or (prefix.endswith("/") and split.path.startswith(prefix)):
                if isinstance(answer, list):
                    served[prefix] = served.get(prefix, 0) + 1
                    return answer[min(served[prefix], len(answer)) - 1]
                return answer
        return 200, JSON, ITEMS

    return route


PATHS = {"path", "records", "total_path", "cursor_path", "next_path", "token_path", "token_url", "items", "record",
         "acked_path", "operation", "wsdl", "field", "columns_path"}  # fmt: skip


def paths(spec: Any) -> list[str]:
    """The registry entry's paths and names (what a message quotes of it), not its words ('page_number')."""
    if isinstance(spec, dict):
        return [p for k, v in spec.items() for p in ([v] if k in PATHS and isinstance(v, str) else paths(v))]
    return [p for v in spec for p in paths(v)] if isinstance(spec, list) else []


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fail(case: Case) -> Failed:
    if case.kind == "portal":
        return fail_delivery(case)
    entry = {"name": "hd_thu", "title": "Huyện Thử", "kind": case.kind, "dialect": "igate", "conn_id": "c",
             "max_attempts": 1, case.kind: case.spec} | case.entry  # fmt: skip
    source = registry.parse({"sources": [entry]}).sources[0]
    attempts: list[dict[str, Any]] = []
    here: list[str] = []
    with routed_server(route_by(case.answers, lambda: here[0])) as (url, _), ExitStack() as more:
        here.append(url)
        host = url.replace("http:", "https:") if case.scheme == "https" else url
        if case.scheme == "closed":
            host = f"http://127.0.0.1:{closed_port()}"
        if case.scheme == "drip":
            host = more.enter_context(serving(Dripping))
        conn = Connection("c", host=host, login="u", password="p")
        reader = open_source(source, recorder=lambda **kw: attempts.append(kw), conn=conn)
        with pytest.raises(ConnectorError) as caught:
            for page in reader.pages(None, None):
                if case.kind == "feed":
                    reader.acknowledge([r.ack_id for r in page if r.ack_id])  # type: ignore[attr-defined]
    served = [a for v in case.answers.values() for a in (v if isinstance(v, list) else [v])]
    planted = " ".join([url, host, *paths(case.spec), *(a[2].decode("utf-8", "replace") for a in served)])
    return Failed(caught.value, attempts, planted)


def fail_delivery(case: Case) -> Failed:
    attempts: list[dict[str, Any]] = []
    with routed_server(route_by(case.answers, str)) as (url, _):
        client = HttpClient(
            "portal", url, HttpSettings(max_attempts=1), on_failure=lambda **kw: attempts.append(kw)
        )
        portal = PortalClient(Connection("p", host=url, login="u", password="p"), client)
        with pytest.raises(ConnectorError) as caught:
            portal.sync_dossiers([{"MaHoSo": "000.00.00.H23-250101-0001"}], updating=False)
    served = [a[2].decode() for a in case.answers.values() if not isinstance(a, list)]
    return Failed(caught.value, attempts, " ".join([url, *served]))


@pytest.fixture(scope="module")
def failures() -> dict[str, Failed]:
    return {name: fail(case) for name, case in CASES.items()}


def stored(failed: Failed) -> dict[str, str]:
    """What the console gets to show of one failure, by where it is stored, rendered as the console does."""
    exc, message = failed.error, quote_answer(str(failed.error), MESSAGE_CAP)
    kind = "refused" if isinstance(exc, RefusedAnswer) else "task"
    shown = {
        f"{kind} {message}": str(words.failure_message(SimpleNamespace(kind=kind, message=message))),
        f"{exc.error_class}: {message}": str(words.reason(f"{exc.error_class}: {message}")),
        f"trace {exc.error_class}: {message}": str(words.trace_detail(f"{exc.error_class}: {message}")),
    }
    if exc.retryable:  # connectors/store/breaker.py: the circuit's last error, in CircuitOpen's message
        last = mask_text(f"{exc.error_class}: {exc}")[:500]
        circuit = (
            f"CircuitOpen: {exc.endpoint}: circuit open after repeated failures ({last}); next trial at 09:30"
        )
        shown[circuit] = str(words.reason(circuit))
    attempts = failed.attempts
    if (
        isinstance(exc, RefusedAnswer) and exc.page is not None
    ):  # connectors/store/refusals.py: its page's row
        row = {"operation": f"page {exc.page}", "endpoint": exc.endpoint, "error_class": exc.error_class}
        attempts = [*attempts, {**row, "message": str(exc)}]
    for a in attempts:  # failure_detail.py: f"{operation} {endpoint}: {error_class} {message}"
        text = (
            f"{a['operation']} {a['endpoint']}: {a['error_class']} {quote_answer(a['message'], MESSAGE_CAP)}"
        )
        shown[f"attempt {text}"] = str(words.history_detail("attempt", text))
    return shown


def test_each_system_fails_as_the_case_means(failures: dict[str, Failed]) -> None:
    for name, case in CASES.items():
        error = failures[name].error
        assert isinstance(error, case.expected), (name, error)
        assert case.says in str(error), (name, str(error))
    assert len({str(f.error) for f in failures.values()}) == len(CASES) >= 15


def test_no_failure_is_shown_as_other(failures: dict[str, Failed]) -> None:
    shown = {text: out for f in failures.values() for text, out in stored(f).items()}
    assert [t for t, s in shown.items() if OTHER in s] == []


@pytest.fixture
def pseudo_locale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with (LOCALES / "vi" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        source = read_po(f)
    catalog = Catalog(locale="en", domain="messages")
    for m in source:
        if m.id:
            catalog.add(
                m.id, tuple(map(pseudo, m.id)) if isinstance(m.id, tuple) else pseudo(m.id), context=m.context
            )
    (tmp_path / "pseudo" / "LC_MESSAGES").mkdir(parents=True)
    with (tmp_path / "pseudo" / "LC_MESSAGES" / "messages.mo").open("wb") as f:
        write_mo(f, catalog)
    monkeypatch.setenv("ONESTOP_CONSOLE_LANGUAGE", "pseudo")
    monkeypatch.setenv("ONESTOP_CONSOLE_LOCALE_DIR", str(tmp_path))
    yield


WORD = re.compile(r"[A-Za-z][\w-]+")  # a word, or a name: hd_thu, access_token, base64, UTF-8
NAMES = {"access_token", "base64", "UTF-8", "json", "xml", "CSV", "NDJSON"}  # the default token path, formats


def leftovers(shown: str, planted: str) -> list[str]:
    """The words of a rendered message that are neither the catalog's (⟦…⟧), technical text (<code>) nor data
    the servers, the registry entry or the endpoint planted."""
    rest = re.sub(r"⟦[^⟦⟧]*⟧", " ", html.unescape(re.sub(r"<code>.*?</code>", " ", shown, flags=re.S)))
    allowed = set(WORD.findall(planted)) | NAMES | {"hd_thu", "http", "https"}
    return [w for w in WORD.findall(rest) if w not in allowed]


def test_no_failure_ends_in_english_words_of_ours(failures: dict[str, Failed], pseudo_locale: None) -> None:
    left = {
        text: words_left
        for f in failures.values()
        for text, out in stored(f).items()
        if (words_left := leftovers(out, f.planted))
    }
    assert left == {}
