"""Data-born text in the console's language: what the pipeline stores or builds in English (mapping reasons,
trace details, health problems) or as keys (history events, fact names, admin actions and their results),
rendered through the catalog. Nothing stored changes: each *shape* a producer makes (mappings/runtime.py,
dates.py, convert.py, compiler.py, unit_names.py; onestop/operations/trace_timeline.py; onestop/operations/health.py; connectors/store/failure_detail.py) is
a regex here whose named groups become the msgid's parameters. A text of no known shape is shown inside a
translated frame ("Other: …"), never as if it were the catalog's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from markupsafe import Markup, escape

from onestop.console.i18n import N_, NP_, number, percent, translations
from onestop.console.render import ERROR_CLASS_LABELS, STATE_LABELS, label
from schemas.personal_data import mask_text


def _(msgid: str, /, **params: Any) -> Markup:
    """The translation as markup: the catalog's text escaped, each parameter escaped (markup we made kept) and,
    when it is text, masked (a reason may quote a value)."""
    template = escape(translations().gettext(msgid))
    if not params:
        return template
    return template % {k: v if isinstance(v, Markup) else mask_text(str(v)) for k, v in params.items()}


def _code(text: str) -> Markup:
    """Technical text no catalog can say (a library's error detail), shown as such."""
    return Markup("<code>%s</code>") % mask_text(text)


Shape = tuple[re.Pattern[str], str]


def _shapes(*pairs: tuple[str, str]) -> list[Shape]:
    return [(re.compile(pattern, re.S), msgid) for pattern, msgid in pairs]


# mappings: ConversionError / FieldError reasons (stored as built, after safe_reason).
REASONS = _shapes(
    (r"missing", N_("missing")),
    (r"unknown value (?P<value>.*) \(not in code table (?P<table>[\w.-]+) for (?P<day>[\d-]+)\)",
     N_("unknown value %(value)s (not in code table %(table)s on %(day)s)")),
    (r"unknown value (?P<value>.*) \(not in code table (?P<table>[\w.-]+)\)",
     N_("unknown value %(value)s (not in code table %(table)s)")),
    # mappings.unit_names: a commune looked up by its names
    (r"unknown commune (?P<value>.*) \(no administrative unit of that name\)",
     N_("unknown commune %(value)s (no administrative unit of that name)")),
    (r"ambiguous commune (?P<value>.*) \((?P<n>\d+) administrative units of that name\)",
     N_("ambiguous commune %(value)s (%(n)s administrative units of that name)")),
    (r"code table (?P<table>[\w.-]+) has no period for (?P<day>[\d-]+)",
     N_("code table %(table)s has no period for %(day)s")),
    (r"impossible date (?P<value>.*)", N_("impossible date %(value)s")),
    (r"unrecognized date (?P<value>.*) \(expected (?P<expected>.*)\)",
     N_("unrecognized date %(value)s (expected %(expected)s)")),
    (r"expected a date, got (?P<what>.*)", N_("expected a date, got %(what)s")),
    (r"expected a list, got (?P<what>.*)", N_("expected a list, got %(what)s")),
    (r"expected text, got (?P<what>.*)", N_("expected text, got %(what)s")),
    (r"expected a code, got (?P<what>.*)", N_("expected a code, got %(what)s")),
    (r"not Windows-1258 text: (?P<why>.*)", N_("not Windows-1258 text: %(why)s")),
    (r"no national procedure code \(d\.dddddd\) in (?P<value>.*)",
     N_("no national procedure code (d.dddddd) in %(value)s")),
    (r"not an integer: (?P<value>.*)", N_("not an integer: %(value)s")),
    (r"not a number: (?P<value>.*)", N_("not a number: %(value)s")),
    (r"not a yes/no value: (?P<value>.*)", N_("not a yes/no value: %(value)s")),
    # mappings.typed (typed_values): a typed value that does not fit the table, said by TYPED
    (r"typed value: (?P<typed>.*)", N_("typed value: %(typed)s")),
    (r"no (?P<sep>'[^']*'|\"[^\"]*\") in the value, before its last segment",
     N_("no %(sep)s in the value, before its last segment")),
    (r"not an amount: got (?P<what>.*)", N_("not an amount: got %(what)s")),
    (r"not an amount: (?P<value>.*)", N_("not an amount: %(value)s")),
    (r"not a whole number of VND: (?P<value>.*)", N_("not a whole number of VND: %(value)s")),
    (r"a record is an object, got (?P<what>.*)", N_("a record is an object, got %(what)s")),
    (r"a deletion \(record\.deleted\), not a dossier", N_("a deletion (record.deleted), not a dossier")),
    (r"MaHoSo (?P<code>\S+) is already held by (?P<uid>\S+)",
     N_("MaHoSo %(code)s is already held by dossier %(uid)s")),
    (r"đã thuộc hồ sơ (?P<record>.*) của nguồn (?P<source>.*)",
     N_("already held by record %(record)s of source %(source)s")),
    # schemas.dossier: the model's own checks
    (r"longer than (?P<max>\d+) characters \((?P<n>\d+)\)", N_("longer than %(max)s characters (%(n)s)")),
    (r"not an e-mail address", N_("not an e-mail address")),
    (r"not a Vietnamese phone number \(10 digits from 0, or 11 for a landline\)",
     N_("not a Vietnamese phone number (10 digits from 0, or 11 for a landline)")),
    (r"a CCCD has 12 digits", N_("a CCCD has 12 digits")),
    (r"an old CMND has 9 digits", N_("an old CMND has 9 digits")),
    (r"a tax code has 10 digits \(\+ '-NNN'\)", N_("a tax code has 10 digits (+ '-NNN')")),
    (r"neither a receipt nor a submission time", N_("neither a receipt nor a submission time")),
    (r"character (?P<char>.*) \((?P<code>U\+[0-9A-F]+)\) at position (?P<at>\d+) is not allowed in a dossier code"
     r" \(letters, digits, \. - _ / and spaces\)",
     N_("character %(char)s (%(code)s) at position %(at)s is not allowed in a dossier code (letters, digits, . - _ / and spaces)")),
    (r"SQL-looking text (?P<text>.*) in a dossier code", N_("SQL-looking text %(text)s in a dossier code")),
    # schemas.text_safety.problem and connectors.jsonpage.describe_character: the first bad character
    (r"(?:a )?control character (?P<code>U\+[0-9A-F]+) at position (?P<at>\d+)",
     N_("control character %(code)s at position %(at)s")),
    (r"(?:a )?lone surrogate(?: \(bytes that are not text\))? (?P<code>U\+[0-9A-F]+) at position (?P<at>\d+)",
     N_("lone surrogate %(code)s (bytes that are not text) at position %(at)s")),
    (r"bidi control character (?P<code>U\+[0-9A-F]+) at position (?P<at>\d+)",
     N_("bidi control character %(code)s at position %(at)s")),
    (r"invisible character (?P<code>U\+[0-9A-F]+) at position (?P<at>\d+)",
     N_("invisible character %(code)s at position %(at)s")),
    (r"non-character (?P<code>U\+[0-9A-F]+) at position (?P<at>\d+)",
     N_("non-character %(code)s at position %(at)s")),
    # connectors: what was wrong inside a record as it was read (Defect)
    (r"duplicate key: the record gives this field more than once",
     N_("duplicate key: the record gives this field more than once")),
    (r"not a JSON number \(NaN, Infinity, or beyond any float\)",
     N_("not a JSON number (NaN, Infinity, or beyond any float)")),
    (r"a record must be a JSON object, not (?P<what>a list|a string|a boolean|null|a number)",
     N_("a record must be a JSON object, not %(what)s")),
    (r"the line is not one JSON value \((?P<why>.*)\)", N_("the line is not one JSON value (%(why)s)")),
    (r"the record is nested deeper than 254 levels of lists and objects",
     N_("the record is nested deeper than 254 levels of lists and objects")),
    # connectors.rows: a table's row that does not fit, a JSON cell that is not JSON
    (r"the row has (?P<n>\d+) values where the header names (?P<m>\d+) columns",
     N_("the row has %(n)s values where the header names %(m)s columns")),
    (r"the cell is not JSON \((?P<why>.*)\)", N_("the cell is not JSON (%(why)s)")),
    # mappings.jsontexts: a value the mapping reads as JSON written as text (json_text)
    (r"not JSON text: (?P<why>.*)", N_("not JSON text: %(why)s")),
    # connectors.positional: a row of cells that cannot be named (`records.rows`), where it was on its page
    (r"(?P<where>.*\[\d+\]): a row must be a JSON list of cells, not (?P<what>an object|a string|a boolean|null|a number)",
     N_("%(where)s: a row must be a JSON list of cells, not %(what)s")),
    (r"(?P<where>.*\[\d+\]): a record must be a JSON object holding its cells at (?P<path>'.*'), not (?P<what>a list|a string|a boolean|null|a number)",
     N_("%(where)s: a record must be a JSON object holding its cells at %(path)s, not %(what)s")),
    (r"(?P<where>.*\[\d+\]): the record has no cells at (?P<path>'.*')",
     N_("%(where)s: the record has no cells at %(path)s")),
    (r"(?P<where>.*\[\d+\]): the cells must be a JSON list, not (?P<what>an object|a string|a boolean|null|a number)",
     N_("%(where)s: the cells must be a JSON list, not %(what)s")),
    (r"(?P<where>.*\[\d+\]): duplicate key: the record's key and its column (?P<name>.*) differ",
     N_("%(where)s: duplicate key: the record's key and its column %(name)s differ")),
    (r"(?P<where>.*\[\d+\]): the row has (?P<n>\d+) cells where (?P<m>\d+) columns are named: the cell at "
     r"position (?P<p>\d+) has no column",
     N_("%(where)s: the row has %(n)s cells where %(m)s columns are named: the cell at position %(p)s has no "
        "column")),
    (r"the cell's quotes do not pair: a quote is not closed, or one inside the text is not doubled; the row is "
     r"kept as its first line, and the lines after it are read as rows",
     N_("the cell's quotes do not pair: a quote is not closed, or one inside the text is not doubled; the row is "
        "kept as its first line, and the lines after it are read as rows")),
    # connectors.workbooks: a cell of a spreadsheet that holds no value
    (r"the cell holds a spreadsheet error: (?P<error>.*)", N_("the cell holds a spreadsheet error: %(error)s")),
    (r"the cell's Number is not a number", N_("the cell's Number is not a number")),
    # connectors.xmlrpc: a value not of the type the answer declares for it
    (r"an XML-RPC (?P<kind>\w+) that is no number", N_("an XML-RPC %(kind)s value that is not a number")),
    (r"an XML-RPC (?P<kind>\w+) beyond any float", N_("an XML-RPC %(kind)s value beyond any float")),
    (r"an XML-RPC (?P<kind>\w+) too long to read", N_("an XML-RPC %(kind)s value too long to read")),
    (r"an XML-RPC boolean that is neither 0 nor 1", N_("an XML-RPC boolean value that is neither 0 nor 1")),
    (r"an XML-RPC struct member without its name and value",
     N_("an XML-RPC struct member without its name and value")),
    (r"an XML-RPC value of a type it does not have: <(?P<kind>.*)>",
     N_("an XML-RPC value of a type XML-RPC does not have: <%(kind)s>")),
    # connectors.detail: a listed record whose detail could not be read
    (r"the listed record has no value for (?P<names>.*)", N_("the listed record has no value for %(names)s")),
    (r"the detail answer has no object at (?P<where>.*): found (?P<what>.*)",
     N_("the detail answer has no object at %(where)s: found %(what)s")),
    (r"the detail answered for (?P<path>\S+) (?P<answered>.*), not (?P<asked>.*)",
     N_("the detail answered for %(path)s %(answered)s, not %(asked)s")),
    # (a detail call that failed is said as a failure is, without its endpoint: FAILURES)
    # connectors.record_errors: an error the system listed beside its records, naming this one's field
    (r"(?P<n>\d+) more not listed", N_("and %(n)s more, not listed")),
    (r"the system reported an error for this field: (?P<message>.*)",
     N_("the system reported an error for this field: %(message)s")),
    (r"the record is (?P<size>\d+) bytes, over the (?P<cap>\d+)-byte limit: its first (?P<kept>\d+) bytes are"
     r" kept, SHA-256 (?P<sha>[0-9a-f]+)",
     N_("the record is %(size)s bytes, over the %(cap)s-byte limit: its first %(kept)s bytes are kept, SHA-256 %(sha)s")),
)  # fmt: skip

# A task's failure that is no call's: a connection or registry entry the task cannot work with (ConfigError), a
# run whose staged rows are gone (StagingLost), and what Airflow says of a task it stopped (a timeout, a process
# that died: onestop.airflow.dags.TaskLost). Parameters by name: _task_part.
TASKS = _shapes(
    (r"Airflow connection '(?P<conn>[^']*)' is not defined \(create it in Admin → Connections, or set"
     r" (?P<env>AIRFLOW_CONN_\S+)\)",
     N_("Airflow connection %(conn)s is not defined (create it in Admin → Connections, or set %(env)s)")),
    (r"connection '(?P<conn>[^']*)': proxy: a '(?P<scheme>[^']*)' proxy is not supported \(an HTTP proxy is:"
     r" http://host:port\)",
     N_("connection %(conn)s: a %(scheme)s proxy is not supported (an HTTP proxy is: http://host:port)")),
    (r"connection '(?P<conn>[^']*)': proxy: not a proxy URL \(http://host:port\)",
     N_("connection %(conn)s: its proxy is not a proxy URL (http://host:port)")),
    (r"connection '(?P<conn>[^']*)': proxy: no host \(http://host:port\)",
     N_("connection %(conn)s: its proxy names no host (http://host:port)")),
    (r"connection '(?P<conn>[^']*)' needs a (?P<fields>login and a password|login|password) \((?P<scheme>\w+)\)",
     N_("connection %(conn)s needs %(fields)s (%(scheme)s)")),
    (r"source (?P<source>[\w.-]+): connection '(?P<conn>[^']*)' needs a (?P<fields>login and a password|login|"
     r"password) \((?P<scheme>.*)\)",
     N_("source %(source)s: connection %(conn)s needs %(fields)s (%(scheme)s)")),
    (r"source (?P<source>[\w.-]+): no port of the WSDL has (?P<wanted>\[.*?\])(?P<port> \(port '[^']*'\))?;"
     r" it has no ports",
     N_("source %(source)s: no port of the WSDL has %(wanted)s%(port)s; the WSDL has no ports")),
    (r"source (?P<source>[\w.-]+): no port of the WSDL has (?P<wanted>\[.*?\])(?P<port> \(port '[^']*'\))?;"
     r" it has (?P<seen>.*)",
     N_("source %(source)s: no port of the WSDL has %(wanted)s%(port)s; its ports: %(seen)s")),
    (r"source (?P<source>[\w.-]+): header element '(?P<header>[^']*)' is not declared in the WSDL's schemas"
     r" \(its elements: (?P<elements>.*)\)",
     N_("source %(source)s: header element %(header)s is not declared in the WSDL's schemas (its elements: %(elements)s)")),
    (r"source (?P<source>[\w.-]+): (?P<operation>\w+) in the WSDL does not take (?P<names>\{.*\}): (?P<detail>.*)",
     N_("source %(source)s: operation %(operation)s in the WSDL does not take %(names)s: %(detail)s")),
    (r"source (?P<source>[\w.-]+): kind '(?P<kind>[^']*)' has no connector",
     N_("source %(source)s: kind %(kind)s has no connector")),
    (r"no source named '(?P<source>[^']*)' in the registry \(known: (?P<known>.*)\)",
     N_("no source named %(source)s in the registry (known: %(known)s)")),
    (r"(?P<source>[\w.-]+): run (?P<run>\d+) has no staged records \(loaded already, purged, or its extract did"
     r" not finish\): its window is fetched again by the next run",
     N_("%(source)s: run %(run)s has no staged records (loaded already, purged, or its extract did not finish): its window is fetched again by the next run")),
    (r"(?P<source>[\w.-]+): run (?P<run>\d+) fetched (?P<fetched>\d+) records but (?P<staged>\d+) are staged \(a"
     r" database restart empties staging\): nothing merged; its window is fetched again by the next run",
     N_("%(source)s: run %(run)s fetched %(fetched)s records but %(staged)s are staged (a database restart empties staging): nothing merged; its window is fetched again by the next run")),
    (r"no sync run (?P<run>\d+)", N_("no sync run %(run)s")),
    (r"Timeout, PID: (?P<pid>\d+)",
     N_("the task ran past its time limit (execution_timeout) and was stopped (process %(pid)s)")),
    (r"the task ended without an error of its own",
     N_("the task ended without an error of its own: see its log in Airflow")),
    (r"Executor (?P<executor>.*) reported that the task instance (?P<ti><.*>) finished with state (?P<state>\w+),"
     r" but the task instance's state attribute is (?P<attr>\w+)\..*",
     N_("the task's process ended (%(state)s) while Airflow still had it as %(attr)s: it was killed, ran out of memory, or its machine restarted (%(ti)s)")),
    (r"(?P<details>\{'DAG Id': .*\})",
     N_("the task stopped sending heartbeats to Airflow: its process or its machine died (%(details)s)")),
)  # fmt: skip
LOGIN_FIELDS = {"login and a password": N_("a login and a password"), "login": N_("a login"),
                "password": N_("a password")}  # fmt: skip
SCHEMES = _shapes(
    (r"the (?P<operation>\w+) login", N_("the %(operation)s login")),
    (r"HTTP (?P<kind>\w+) authentication", N_("HTTP %(kind)s authentication")),
    (r"sent with every call", N_("sent with every call")),
)


# Names, lists and states a task failure quotes as they are (identifiers, not words to translate).
CODED_PARTS = frozenset({"conn", "header", "state", "attr", "wanted", "seen", "names", "elements", "known", "ti",
                         "details", "env", "detail", "kind"})  # fmt: skip


def _task_part(name: str, value: str | None) -> Any:
    if value is None:
        return ""
    if name == "fields":
        return _(LOGIN_FIELDS[value])
    if name == "scheme":
        return _shape(value, SCHEMES) or _code(value)  # WS-Security, basic, ntlm: names, not words
    if name == "port":  # " (port 'P')"
        return _(" (port %(port)s)", port=_code(value[len(" (port '") : -len("')")]))
    if name in CODED_PARTS:
        return _code(value[:300])
    return value


# onestop/operations/trace_timeline.py: the detail of each event (masked when built).
TRACE = _shapes(
    (r"read from (?P<source>.*)", N_("read from %(source)s")),
    (r"raw record kept in staging \(its staged copy was purged\)",
     N_("raw record kept in staging (its staged copy was purged)")),
    (r"raw record kept in staging", N_("raw record kept in staging")),
    (r"staged until its run loaded", N_("staged until its run loaded")),
    (r"still failing", N_("still failing")),
    (r"sent through the pipeline again", N_("sent through the pipeline again")),
    (r"by (?P<who>[^:]*): (?P<comment>.*)", N_("by %(who)s: %(comment)s")),
    (r"by (?P<who>.*)", N_("by %(who)s")),
    (r"same content as stored \(or an older copy\): not loaded again",
     N_("same content as stored (or an older copy): not loaded again")),
    (r"new dossier; status (?P<status>.*); updated at the source (?P<at>.*)",
     N_("new dossier; status %(status)s; updated at the source %(at)s")),
    (r"new version; status (?P<status>.*); updated at the source (?P<at>.*)",
     N_("new version; status %(status)s; updated at the source %(at)s")),
    (r"MaHoSo (?P<code>\S+) is already held by (?P<source>\S+) record (?P<record>.*): not sent to the portal",
     N_("MaHoSo %(code)s is already held by record %(record)s of %(source)s: not sent to the portal")),
    (r"MaHoSo (?P<code>\S+) is already held by dossier (?P<uid>.*): not sent to the portal",
     N_("MaHoSo %(code)s is already held by dossier %(uid)s: not sent to the portal")),
    (r"conflict closed by (?P<who>[^:]*): (?P<comment>.*)", N_("conflict closed by %(who)s: %(comment)s")),
    (r"conflict closed by (?P<who>.*)", N_("conflict closed by %(who)s")),
    (r"delivery closed by (?P<who>[^:]*): (?P<comment>.*)", N_("delivery closed by %(who)s: %(comment)s")),
    (r"delivery closed by (?P<who>.*)", N_("delivery closed by %(who)s")),
    (r"delivery to the portal queued; superseded by a newer version before it was sent",
     N_("delivery to the portal queued; superseded by a newer version before it was sent")),
    (r"delivery to the portal queued", N_("delivery to the portal queued")),
    (r"attempt (?P<n>\d+); sent again (?P<resends>\d+) times after a lost answer",
     N_("attempt %(n)s; sent again %(resends)s times after a lost answer")),
    (r"attempt (?P<n>\d+)", N_("attempt %(n)s")),
    (r"an earlier attempt failed; no more retries", N_("an earlier attempt failed; no more retries")),
    (r"an earlier attempt failed", N_("an earlier attempt failed")),
    (r"(?P<why>.*); no more retries", N_("%(why)s; no more retries")),
    (r"the portal accepted the dossier and its progress", N_("the portal accepted the dossier and its progress")),
    (r"the source announced a deletion: kept here, no longer sent",
     N_("the source announced a deletion: kept here, no longer sent")),
)  # fmt: skip

# onestop/operations/health.py: Finding.message (judge()).
PROBLEMS = _shapes(
    (r"no successful sync yet, deadline (?P<deadline>.*)", N_("no successful sync yet, deadline %(deadline)s")),
    (r"last successful sync (?P<age>.*) ago, deadline (?P<deadline>.*)",
     N_("last successful sync %(age)s ago, deadline %(deadline)s")),
    (r"error rate (?P<rate>[\d.]+%) in the last 24h \((?P<steps>[^()]*)\), threshold (?P<threshold>[\d.]+%)",
     N_("error rate %(rate)s in the last 24 hours (%(steps)s), threshold %(threshold)s")),
    (r"(?P<page>.*) — every run stops at this page until it is fixed at the source or skipped .*",
     N_("%(page)s — every run stops at this page until it is fixed at the source or skipped (“Skip this page” in the console)")),
    (r"circuit breaker open: calls fail fast after repeated failures",
     N_("circuit breaker open: calls fail fast after repeated failures")),
)  # fmt: skip

# connectors/store/failure_detail.py: Detail.history's event names and Vietnamese details.
EVENT_LABELS = {
    "first_seen": N_("First seen"),
    "other_version": N_("Another version"),
    "seen_again": N_("Seen again"),
    "queued": N_("Queued"),
    "sent": N_("Sent"),
    "delivered": N_("Delivered"),
    "failed": N_("Failed"),
    "dead": N_("Failed, no retries left"),
    "conflict": N_("Duplicate found"),
    "attempt": N_("Attempt"),
    "task_failed": N_("Task failed"),
    "refused": N_("Page refused"),
    **{
        k: v
        for k, v in STATE_LABELS.items()
        if k in ("resolved", "redriven", "superseded", "skipped", "cleared")
    },
}
HISTORY = _shapes(
    (r"lần đầu \(lần chạy (?P<run>\d+)\)", N_("first time (run %(run)s)")),
    (r"lần đầu", N_("first time")),
    (r"phiên bản khác của bản ghi: (?P<n>\d+) lần, (?P<state>\w+)",
     N_("another version of the record: %(n)s times, %(state)s")),
    (r"gặp lại (?P<n>\d+) lần, lần cuối ở lần chạy (?P<run>\d+)", N_("seen %(n)s times, last in run %(run)s")),
    (r"phiên bản (?P<v>\d+) chờ gửi", N_("version %(v)s waiting to be sent")),
    (r"phiên bản (?P<v>\d+) đã gửi \(lần thử (?P<n>\d+), gửi lại (?P<resends>\d+)\)",
     N_("version %(v)s sent (attempt %(n)s, sent again %(resends)s)")),
    (r"phiên bản (?P<v>\d+) Cổng DVC đã nhận", N_("version %(v)s accepted by the portal")),
    (r"phiên bản (?P<v>\d+): (?P<cls>\w*) (?P<why>.*) \(lần thử (?P<n>\d+)\)",
     N_("version %(v)s: %(cls)s — %(why)s (attempt %(n)s)")),
    (r"phát hiện trùng với (?P<holder>.*)", N_("duplicate of %(holder)s")),
    (r"lần chạy (?P<run>\d+) dừng ở trang (?P<page>\d+)", N_("run %(run)s stopped at page %(page)s")),
)  # fmt: skip

# onestop/operations/trace_timeline.py's steps (its STEP_LABELS serve the CLI).
STEP_LABELS = {
    "fetched": N_("Fetched from the source"),
    "staged": N_("Staged"),
    "quarantined": N_("Quarantined for bad data"),
    "redriven": N_("Re-driven"),
    "loaded": N_("Loaded into the database"),
    "unchanged": N_("Unchanged"),
    "conflict": N_("Duplicate dossier code"),
    "queued": N_("Waiting to be sent to the portal"),
    "sent": N_("Sent"),
    "delivery_failed": N_("Delivery failed"),
    "delivered": N_("Accepted by the portal"),
    "resolved": N_("Resolved"),
    "deleted": N_("Deleted at the source"),
}
FACT_LABELS = {
    "run_id": N_("Run"),
    "airflow_run_id": N_("Airflow run"),
    "seen": N_("Times seen"),
    "payload_purged_at": N_("Raw data deleted at"),
    "uid": N_("Dossier id"),
    "holder_uid": N_("Held by dossier"),
    "source_record_id": N_("Source record id"),
    "version": N_("Version"),
    "attempts": N_("Attempts"),
    "dag_id": N_("DAG"),
    "task_id": N_("Task"),
    "page": N_("Page"),
    "byte_offset": N_("Byte offset"),
    "http_status": N_("HTTP status"),
    "window": N_("Time window"),
}
ACTION_LABELS = {"redrive": N_("Re-drive"), "resolve": N_("Mark as resolved"), "skip": N_("Skip the page"),
                 "trace": N_("Search")}  # fmt: skip
ACTION_STATES = {"requested": N_("requested"), "triggered": N_("started in Airflow"), "failed": N_("failed"),
                 "done": N_("done")}  # fmt: skip


# connectors/errors.py: what a ConnectorError says, "<endpoint>: <message>", most messages after the operation or
# page they failed in ("page 3: ", "token: ", "detail: ", "the text at 'd': "…). One parser (_failure) reads the
# endpoint, then as many operations as it takes until the rest is a message of a known shape (FAILURES), maybe
# followed by where reading stopped or the answer's keys (FAILURE_SUFFIXES). The producers: connectors/http.py,
# auth.py, paging.py, jsonpage.py, embedded.py, safexml.py, soap.py, detail.py, feed.py, portal.py, store/breaker.py.
# The system's own words (an HTTP error body, a fault's text) are shown as they came; a library's as code.
FAILURES = _shapes(
    # connectors.http: an HTTP error with the system's own words (verbatim), TLS, the transport's exceptions
    (r"HTTP (?P<status>\d+): (?P<said>.*)", N_("HTTP error %(status)s, the system said: %(said)s")),
    (r"HTTP (?P<status>\d+)", N_("HTTP error %(status)s, with no explanation")),
    (r"HTTP (?P<status>\d+) without a SOAP Fault", N_("HTTP error %(status)s without a SOAP Fault")),
    (r"the answer was still coming after (?P<seconds>[\d.]+) s: cut off",
     N_("the answer was still coming after %(seconds)s s (a few bytes at a time): cut off")),
    (r"redirected with its body to another host \((?P<host>[^)]*)\): not followed, the body may carry credentials",
     N_("the system sent the call with its body on to another host (%(host)s): not followed, as the body may carry "
        "credentials")),
    (r"a header holds what HTTP cannot carry \(a line break, a control character\): not sent",
     N_("a header holds what HTTP cannot carry (a line break, a control character): not sent")),
    (r"TooManyRedirects: Exceeded (?P<n>\d+) redirects\.",
     N_("the system sent the call on %(n)s times without an answer (a redirect loop: a login page, a moved "
        "address); not followed further")),
    (r"TLS: (?P<detail>.*) \(an old server's TLS: `tls_legacy: true` on its connection accepts it\)",
     N_("TLS error: the system's server is older than the secure connection allows (%(detail)s); "
        "`tls_legacy: true` on its connection accepts it")),
    (r"TLS: (?P<detail>.*)", N_("TLS error (the certificate or the secure connection was refused): %(detail)s")),
    (r"(?P<exc>(?=[A-Z])\w*(?:Error|Exception|Timeout)): (?P<detail>.*)", N_("%(exc)s: %(detail)s")),
    (r"answer is not JSON \((?P<why>.*?)\): (?P<said>.*)", N_("the answer is not JSON (%(why)s); it begins: %(said)s")),
    # connectors.http, jsonpage and safexml: an answer refused as a whole
    (r"answer of (?P<size>[\d*]+) bytes is over the (?P<cap>\d+)-byte cap",  # a size of 9+ digits is masked
     N_("answer of %(size)s bytes is over the %(cap)s-byte cap")),
    (r"answer is over the (?P<cap>\d+)-byte cap", N_("answer is over the %(cap)s-byte cap")),
    (r"the header names (?P<names>.*) twice: name the columns in the registry \(`columns`\)",
     N_("the header names %(names)s twice: name the columns in the registry (`columns`)")),
    # connectors.positional: rows whose columns the answer names so that no row could be read right
    (r"no columns at (?P<path>'.*') \(rows\.columns_path\)", N_("no columns at %(path)s (rows.columns_path)")),
    (r"the columns named at (?P<where>'.*') are (?P<what>an object|a list|an empty list|a string|a boolean|null|a "
     r"number), not a list of names",
     N_("the columns named at %(where)s are %(what)s, not a list of names")),
    (r"the columns named at (?P<where>'.*') cannot be read: (?P<cause>.*)",
     N_("the columns named at %(where)s cannot be read: %(cause)s")),
    (r"the columns named at (?P<where>'.*'): the column at position (?P<j>\d+) has no (?P<path>'.*')",
     N_("the columns named at %(where)s: the column at position %(j)s has no %(path)s")),
    (r"the columns named at (?P<where>'.*'): the column at position (?P<j>\d+) is (?P<what>an object|a list|a "
     r"boolean|null), not a name",
     N_("the columns named at %(where)s: the column at position %(j)s is %(what)s, not a name")),
    (r"the columns named at (?P<where>'.*'): the column at position (?P<j>\d+) has no name",
     N_("the columns named at %(where)s: the column at position %(j)s has no name")),
    (r"the columns named at (?P<where>'.*'): the name of the column at position (?P<j>\d+) holds (?P<cause>.*)",
     N_("the columns named at %(where)s: the name of the column at position %(j)s holds %(cause)s")),
    (r"the columns named at (?P<where>'.*'): (?P<name>.*) names the columns at positions (?P<a>\d+) and (?P<b>\d+)",
     N_("the columns named at %(where)s: %(name)s names the columns at positions %(a)s and %(b)s")),
    (r"the spreadsheet has no sheet (?P<sheet>'.*'); its sheets: (?P<sheets>.*)",
     N_("the spreadsheet has no sheet %(sheet)s; its sheets: %(sheets)s")),
    (r"answer is not a spreadsheet \(it is markup: HTML or XML; an export of HTML tables is read with "
     r"`html: true`\)",
     N_("the answer is not a spreadsheet: it is markup, HTML or XML; an export of HTML tables is read with "
        "`html: true`")),
    (r"answer is not a spreadsheet \((?P<detail>.*)\)", N_("the answer is not a spreadsheet (%(detail)s)")),
    (r"the system reported an error at its records \((?P<at>.*?)\) and sent none: (?P<message>.*)",
     N_("the system reported an error at its records (%(at)s) and sent none: %(message)s (the page is not read as "
        "empty: its window is read again by the next run)")),
    (r"the workbook's (?P<part>\S+) says it holds (?P<n>[\d,]+) items in (?P<size>[\d,]+) bytes",
     N_("the workbook's %(part)s says it holds %(n)s items in %(size)s bytes (refused before it is read)")),
    (r"the sheet (?P<sheet>'.*') spans (?P<rows>[\d,]+) rows by (?P<columns>[\d,]+) columns, over the cap of "
     r"(?P<cap>[\d,]+) cells",
     N_("the sheet %(sheet)s spans %(rows)s rows by %(columns)s columns, over the cap of %(cap)s cells (a cell "
        "named far away: refused before it is read)")),
    (r"answer is not (?P<what>CSV|NDJSON): it is HTML \(at byte offset 0\)",
     N_("the answer is not %(what)s: it is an HTML page (from byte 0)")),
    (r"answer is not (?P<what>CSV|NDJSON): it is markup \(XML or HTML\) \(at byte offset 0\)",
     N_("the answer is not %(what)s: it is markup, XML or HTML (from byte 0)")),
    (r"answer of (?P<size>[\d*]+) bytes unpacks to (?P<unpacked>[\d*]+) bytes, over the (?P<cap>\d+)-byte cap",
     N_("answer of %(size)s bytes unpacks to %(unpacked)s bytes, over the %(cap)s-byte cap")),
    # connectors.rows and connectors.archives: an answer of rows that is a file of another kind, a packed export
    (r"answer is not (?P<what>CSV|NDJSON): it is a ZIP archive \(or an xlsx: `answer: spreadsheet`; a packed export:"
     r" `archive`\)",
     N_("the answer is not %(what)s: it is a ZIP archive (or an xlsx: `answer: spreadsheet`; a packed export: "
        "`archive`)")),
    (r"answer is not (?P<what>CSV|NDJSON): it is an empty ZIP archive",
     N_("the answer is not %(what)s: it is an empty ZIP archive")),
    (r"answer is not (?P<what>CSV|NDJSON): it is gzip-compressed \(a packed export: `archive: \{format: gzip\}`\)",
     N_("the answer is not %(what)s: it is gzip-compressed (a packed export: `archive: {format: gzip}`)")),
    (r"answer is not (?P<what>CSV|NDJSON): it is an Excel 97-2003 file \(`answer: spreadsheet`\)",
     N_("the answer is not %(what)s: it is an Excel 97-2003 file (`answer: spreadsheet`)")),
    (r"answer is not (?P<what>CSV|NDJSON): it is a PDF document", N_("the answer is not %(what)s: it is a PDF document")),
    (r"answer is not a ZIP archive: it is HTML \(at byte offset 0\)",
     N_("the answer is not a ZIP archive: it is an HTML page (from byte 0)")),
    (r"answer is not a ZIP archive: it is markup \(XML or HTML\) \(at byte offset 0\)",
     N_("the answer is not a ZIP archive: it is markup, XML or HTML (from byte 0)")),
    (r"answer is not gzip-compressed: it is HTML \(at byte offset 0\)",
     N_("the answer is not gzip-compressed: it is an HTML page (from byte 0)")),
    (r"answer is not gzip-compressed: it is markup \(XML or HTML\) \(at byte offset 0\)",
     N_("the answer is not gzip-compressed: it is markup, XML or HTML (from byte 0)")),
    (r"answer is not a ZIP archive \((?P<why>.*)\)", N_("the answer is not a ZIP archive (%(why)s)")),
    (r"answer is not gzip-compressed \(the stream is cut short\)",
     N_("the answer is not gzip-compressed (the stream is cut short)")),
    (r"answer is not gzip-compressed \((?P<why>.*)\)", N_("the answer is not gzip-compressed (%(why)s)")),
    (r"the ZIP archive holds (?P<n>\d+) files, over the cap of (?P<cap>\d+)",
     N_("the ZIP archive holds %(n)s files, over the cap of %(cap)s")),
    (r"the ZIP archive names a file outside itself: (?P<file>.*)",
     N_("the ZIP archive names a file outside itself: %(file)s")),
    (r"the ZIP archive's file (?P<file>'.*') is encrypted", N_("the ZIP archive's file %(file)s is encrypted")),
    (r"the ZIP archive's file (?P<file>'.*') is unreadable \((?P<why>.*)\)",
     N_("the ZIP archive's file %(file)s is unreadable (%(why)s)")),
    (r"answer of (?P<size>\d+) bytes unpacks to over the (?P<cap>\d+)-byte cap",
     N_("answer of %(size)s bytes unpacks to over the %(cap)s-byte cap")),
    (r"the answer's header names no column (?P<columns>.*): it is not the export \(its first row reads: (?P<said>.*)\)",
     N_("the answer's header names no column %(columns)s: it is not the export (its first row reads: %(said)s)")),
    (r"the answer ends before its header \(after (?P<n>\d+) rows to leave out\): it is not the export \(its first"
     r" row reads: (?P<said>.*)\)",
     N_("the answer ends before its header (after %(n)s rows to leave out): it is not the export (its first row "
        "reads: %(said)s)")),
    (r"answer declares XInclude: refused before any record was read",
     N_("answer declares XInclude: refused before any record was read")),
    (r"answer is not JSON \((?P<why>.*)\)", N_("the answer is not JSON (%(why)s)")),
    (r"answer is nested too deep to read", N_("the answer is nested too deep to read")),
    (r"answer is nested too deep to read \((?P<why>.*)\)", N_("the answer is nested too deep to read (%(why)s)")),
    (r"answer is not well-formed XML: (?P<why>.*)", N_("the answer is not well-formed XML: %(why)s")),
    (r"answer carries a DTD \(<!DOCTYPE>\): refused before any record was read",
     N_("the answer carries a DTD (<!DOCTYPE>): refused before any record was read")),
    (r"answer carries a processing instruction that names a resource \((?P<detail>.*)\): refused",
     N_("the answer carries a processing instruction that names a resource (%(detail)s): refused")),
    (r"answer refers to a value \(href=\"#…\"\) it does not hold",
     N_("the answer refers to a value (href=\"#…\") it does not hold")),
    (r"answer's references \(href=\"#…\"\) loop or multiply past any record",
     N_("the answer's references (href=\"#…\") loop or multiply past any record")),
    (r"no record at (?P<path>'[^']*') below the root element <(?P<root>[^>]*)>, but the answer has <(?P<element>[^>]*)>"
     r" elements at (?P<where>'[^']*'): `records` is the path below the root element",
     N_("no record at %(path)s below the root element <%(root)s>, but the answer has <%(element)s> elements at"
        " %(where)s: `records` is the path below the root element")),
    # connectors.auth (and soap's login): credentials
    (r"the answer set no session cookie", N_("the answer set no session cookie")),
    # connectors.auth: a web application's login form (login_page)
    (r"no hidden input (?P<field>'[^']*') with a value in the page at (?P<path>\S+) \(HTTP (?P<status>\d+)\)",
     N_("no hidden input %(field)s with a value in the page at %(path)s (HTTP %(status)s)")),
    (r"the session ended: the answer is the login page \((?P<path>[^)]*)\)",
     N_("the session ended: the answer is the login page (%(path)s)")),
    (r"refused, the login page again: \(it says nothing\)", N_("refused, the login page again (it says nothing)")),
    (r"refused, the login page again: (?P<said>.*)", N_("refused, the login page again: %(said)s")),
    (r"no token at (?P<path>'[^']*') in the answer: (?P<said>.*)", N_("no token at %(path)s in the answer: %(said)s")),
    (r"no session token at (?P<path>'[^']*') in the answer: (?P<said>.*)",
     N_("no session token at %(path)s in the answer: %(said)s")),
    # connectors.paging: error envelopes (the vendor's code and words), the wrong shape, paging that goes wrong
    (r"the system answered an error (?P<code>[^:]*): (?P<said>.*)",
     N_("the system answered error %(code)s: %(said)s")),
    (r"the system answered an error: (?P<said>.*)", N_("the system answered an error: %(said)s")),
    (r"no list of records at (?P<path>'[^']*'): the answer's keys are (?P<keys>.*)",
     N_("no list of records at %(path)s: the answer's keys are %(keys)s")),
    (r"no list of records at (?P<path>'[^']*'): found (?P<what>\w+)", N_("no list of records at %(path)s: found %(what)s")),
    (r"no number at (?P<path>'[^']*') \(found (?P<value>.*)\)", N_("no number at %(path)s (found %(value)s)")),
    (r"the list shrank while it was read \((?P<before>\d+) → (?P<after>\d+)\), (?P<n>\d+) times over: records that"
     r" moved up past a page already read would be skipped; the run fails so that the next one reads this window"
     r" again",
     N_("the list shrank while it was read (%(before)s → %(after)s), %(n)s times over: records that moved up past a"
        " page already read would be skipped; the run fails so that the next one reads this window again")),
    (r"the list shrank while it was read \((?P<before>\d+) → a range past its end, HTTP 416\), (?P<n>\d+) times over:"
     r" records that moved up past a page already read would be skipped; the run fails so that the next one reads"
     r" this window again",
     N_("the list shrank while it was read (%(before)s → a range past its end, HTTP 416), %(n)s times over: records"
        " that moved up past a page already read would be skipped; the run fails so that the next one reads this"
        " window again")),
    (r"no records, yet the system's total says (?P<total>\d+) records and (?P<seen>\d+) records came: the rest of"
     r" the window would be lost; the run fails so that the next one reads this window again \(a system whose total"
     r" counts records it never sends: paginator.total_counts_more: true\)",
     N_("no records, yet the system's total says %(total)s records and %(seen)s records came: the rest of the window"
        " would be lost; the run fails so that the next one reads this window again (a system whose total counts"
        " records it never sends: paginator.total_counts_more: true)")),
    (r"no records, yet the system's total says (?P<total>\d+) pages and (?P<seen>\d+) records came: the rest of"
     r" the window would be lost; the run fails so that the next one reads this window again \(a system whose total"
     r" counts records it never sends: paginator.total_counts_more: true\)",
     N_("no records, yet the system's total says %(total)s pages and %(seen)s records came: the rest of the window"
        " would be lost; the run fails so that the next one reads this window again (a system whose total counts"
        " records it never sends: paginator.total_counts_more: true)")),
    (r"the same (?P<n>\d+) records as the page before: the system ignores the page it is asked for; the run fails"
     r" rather than read that page for ever \(the next one reads this window again\)",
     N_("the same %(n)s records as the page before: the system ignores the page it is asked for; the run fails"
        " rather than read that page for ever (the next one reads this window again)")),
    (r"the same (?P<n>\d+) records as the page before: the system ignores the offset it is asked for; the run fails"
     r" rather than read that page for ever \(the next one reads this window again\)",
     N_("the same %(n)s records as the page before: the system ignores the offset it is asked for; the run fails"
        " rather than read that page for ever (the next one reads this window again)")),
    (r"the feed answered after (?P<after>.*) with no item past it \(no ack id at (?P<path>'[^']*')\?\): reading on"
     r" would fetch the same items again",
     N_("the feed answered after %(after)s with no item past it (no ack id at %(path)s?): reading on would fetch the"
        " same items again")),
    (r"the cursor (?P<cursor>.*) came back again \(a loop\)", N_("the cursor %(cursor)s came back again (a loop)")),
    (r"the cursor at (?P<place>.*) is (?P<n>\d+) characters long, past the (?P<cap>\d+) a cursor may hold: the run"
     r" fails rather than send it back",
     N_("the cursor at %(place)s is %(n)s characters long, past the %(cap)s a cursor may hold: the run fails rather"
        " than send it back")),
    (r"the cursor at (?P<place>.*) is (?P<what>an object|a list|a text), not the (?P<kind>object|list|text) this"
     r" source's paginator sends back \(cursor_type: (?P<setting>object|list|text)\): the run fails rather than ask"
     r" for a page the system never meant",
     N_("the cursor at %(place)s is %(what)s, not the %(kind)s this source's paginator sends back (cursor_type:"
        " %(setting)s): the run fails rather than ask for a page the system never meant")),
    (r"the next link (?P<link>.*) came back again \(a loop\)", N_("the next link %(link)s came back again (a loop)")),
    # connectors.paging: the place a system keeps for the reader (rest.resume)
    (r"resume.path (?P<path>'[^']*') holds (?P<what>an object|a list), not the text of a link or a cursor: the run"
     r" fails rather than keep a place it cannot send back",
     N_("resume.path %(path)s holds %(what)s, not the text of a link or a cursor: the run fails rather than keep a"
        " place it cannot send back")),
    (r"the place at resume.path (?P<path>'[^']*') is (?P<n>\d+) characters long, past the (?P<cap>\d+) it may hold:"
     r" the run fails rather than keep it",
     N_("the place at resume.path %(path)s is %(n)s characters long, past the %(cap)s it may hold: the run fails"
        " rather than keep it")),
    (r"the place at resume.path (?P<path>'[^']*') holds a control character or a lone surrogate: the run fails"
     r" rather than keep a place it cannot send back",
     N_("the place at resume.path %(path)s holds a control character or a lone surrogate: the run fails rather than"
        " keep a place it cannot send back")),
    (r"the first page's answer does not fit the registry: (?P<detail>.*)",
     N_("the first page's answer does not fit the registry: %(detail)s")),
    # connectors.detail and rest: the detail of each listed record, a request that cannot be written
    (r"the detail answer is not JSON \((?P<why>.*)\)", N_("the detail answer is not JSON (%(why)s)")),
    (r"every one of the page's (?P<n>\d+) detail calls failed, the first: (?P<first>.*)",
     N_("every one of the page's %(n)s detail calls failed, the first: %(first)s")),
    (r"request path (?P<path>'[^']*') needs a value(?: it does not have)?", N_("request path %(path)s needs a value it does not have")),
    # connectors.embedded: the document written as text inside the answer
    (r"no embedded document at (?P<path>'[^']*')", N_("no embedded document at %(path)s")),
    (r"(?P<path>'[^']*') holds (?P<what>\w+), not (?P<format>json|xml) text", N_("%(path)s holds %(what)s, not %(format)s text")),
    (r"the text at (?P<path>'[^']*') is not (?P<encoding>base64|UTF-8) \((?P<why>.*)\)",
     N_("the text at %(path)s is not %(encoding)s (%(why)s)")),
    # connectors.feed
    (r"no list of items at (?P<path>'[^']*'): (?P<said>.*)", N_("no list of items at %(path)s: %(said)s")),
    (r"no count at (?P<path>'[^']*'): (?P<said>.*)", N_("no count at %(path)s: %(said)s")),
    (r"this feed declares no `peek` call: a preview would lease a batch and delay the real sync, so none is taken",
     N_("this feed declares no `peek` call: a preview would lease a batch and delay the real sync, so none is taken")),
    # connectors.soap
    (r"SOAP Fault (?P<code>.*?): \(no text\)", N_("SOAP Fault %(code)s, with no text")),
    (r"SOAP Fault (?P<code>.*?): (?P<said>.*)", N_("SOAP Fault %(code)s: %(said)s")),
    (r"not a SOAP answer \(no Body\): (?P<said>.*)", N_("not a SOAP answer (no Body): %(said)s")),
    (r"an MTOM answer \(multipart/related\) without its SOAP envelope part",
     N_("an MTOM answer (multipart/related) without its SOAP envelope part")),
    (r"an MTOM answer refers to attachment (?P<cid>cid:.*), which it does not hold",
     N_("an MTOM answer refers to attachment %(cid)s, which it does not hold")),
    (r"an MTOM answer has an xop:Include without a cid: reference",
     N_("an MTOM answer has an xop:Include without a cid: reference")),
    (r"zeep tried to send a request itself \(only our client sends\)",
     N_("zeep tried to send a request itself (only our client sends)")),
    (r"refers to (?P<url>\S+), which is not on the system's host; read at (?P<fetched>\S+) instead: (?P<cause>.*)",
     N_("refers to %(url)s, which is not on the system's host; read at %(fetched)s instead: %(cause)s")),
    (r"imports more than (?P<n>\d+) documents: refused", N_("imports more than %(n)s documents: refused")),
    (r"cannot use (?P<url>\S+): (?P<exc>\w+): (?P<detail>.*)", N_("cannot use %(url)s: %(exc)s: %(detail)s")),
    # connectors.portal: the national portal's answers
    (r"login refused: (?P<said>.*)", N_("login refused: %(said)s")),
    (r"session refused right after login", N_("session refused right after login")),
    (r"answer is not an object", N_("the answer is not an object")),
    (r"error (?P<code>[^:]*): (?P<said>.*)", N_("error %(code)s: %(said)s")),
    (r"expected (?P<n>\d+) results, got (?P<detail>.*)", N_("expected %(n)s results, got %(detail)s")),
    (r"the results name other dossiers than were sent \((?P<names>.*)\)",
     N_("the results name other dossiers than were sent (%(names)s)")),
    (r"the portal's result is not an object: (?P<said>.*)",
     N_("the portal's result for this dossier is not an object: %(said)s (not taken for a delivery)")),
    (r"the portal's result gives no error_code: (?P<said>.*)",
     N_("the portal's result for this dossier gives no error_code: %(said)s (not taken for a delivery)")),
    # connectors.store.breaker: the last error is a failure's "<class>: <message>"
    (r"circuit open after repeated failures \((?P<last>.*)\); next trial at (?P<at>.*)",
     N_("circuit open after repeated failures (%(last)s); next trial at %(at)s")),
    (r"circuit open after repeated failures \((?P<last>.*)\)", N_("circuit open after repeated failures (%(last)s)")),
)  # fmt: skip
# After a message: where reading stopped (jsonpage, safexml), the keys the answer had instead (embedded).
FAILURE_SUFFIXES = _shapes(
    # connectors.http.tries_said: retries did not cure it (outermost: a message may carry another suffix inside)
    (r"(?P<message>.*) \(after (?P<n>\d+) attempts over (?P<seconds>\d+) s\)",
     N_("%(message)s (after %(n)s attempts over %(seconds)s s)")),
    (r"(?P<message>.*) at byte (?P<at>\d+) \(line (?P<line>\d+), column (?P<column>\d+)\)",
     N_("%(message)s, at byte %(at)s (line %(line)s, column %(column)s)")),
    (r"(?P<message>.*) at byte (?P<at>\d+)", N_("%(message)s, at byte %(at)s")),
    (r"(?P<message>.*); the answer's keys are (?P<keys>\[.*\])", N_("%(message)s; the answer's keys are %(keys)s")),
)  # fmt: skip
# The operation a message names before it (connectors' `operation=`; a page numbered by RefusedAnswer.on_page);
# any other is the system's own operation name (SOAP, the portal's services), shown as it is.
OPERATIONS = _shapes(
    (r"page (?P<n>\d+)", N_("page %(n)s")),
    (r"page", N_("reading a page")),
    (r"token", N_("getting a token")),
    (r"login page", N_("opening the login page")),
    (r"login", N_("logging in")),
    (r"detail", N_("the detail call")),
    (r"wsdl", N_("reading the WSDL")),
    (r"fetch", N_("fetching a batch")),
    (r"ack", N_("acknowledging a batch")),
    (r"peek", N_("looking at the next batch")),
    (r"the text at (?P<path>'[^']*')", N_("the text written at %(path)s")),
    (r"WS-Security", N_("WS-Security login")),
    (r"the (?P<operation>\w+) login", N_("login by %(operation)s")),
)  # fmt: skip
ENDPOINTS = {"portal": N_("the National Public Service Portal")}
FAILURE = re.compile(r"(?P<endpoint>[\w.-]+): (?P<rest>.*)", re.S)
OPERATION = re.compile(r"(?P<operation>[^:\n]{1,100}?): (?P<rest>.*)", re.S)
MAX_OPERATIONS = 3
EXCEPTION_LABELS = {
    "ConnectionError": N_("could not connect"),
    "ConnectTimeout": N_("no answer in time"),
    "ReadTimeout": N_("no answer in time"),
    "Timeout": N_("no answer in time"),
    "HTTPError": N_("HTTP error"),
    "SSLError": N_("TLS error"),
    "ChunkedEncodingError": N_("the answer was cut off"),
    "ProxyError": N_("the proxy refused the connection"),
}
# Our own words inside a parser's complaint (connectors.jsonpage); any other is the library's, shown as code.
CAUSES = _shapes(
    (r"expecting a value", N_("expecting a value")),
    (r"a second value follows the first", N_("a second value follows the first")),
    (r"(?P<name>NaN|-?Infinity) is not a JSON number", N_("%(name)s is not a JSON number")),
    (r"a key given twice", N_("a key given twice")),
    (r"a second value follows the first; a value per line is NDJSON: write `answer: ndjson`",
     N_("a second value follows the first; a value per line is NDJSON: write `answer: ndjson`")),
)  # fmt: skip


def _shape(text: str, shapes: list[Shape], nested: Callable[[str, str], Any] | None = None) -> Markup | None:
    """The first shape `text` has, its parameters rendered by `nested`; None when it has none."""
    for pattern, msgid in shapes:
        found = pattern.fullmatch(text)
        if found:
            params = found.groupdict()
            if nested:
                params = {k: nested(k, v) for k, v in params.items()}
            return _(msgid, **params) if params else _(msgid)
    return None


def _by_shape(
    text: str | None, shapes: list[Shape], *, nested: Callable[[str, str], Any] | None = None
) -> Markup:
    if text is None or text == "":
        return Markup("")
    said = _shape(str(text), shapes, nested)
    return said if said is not None else _("Other: %(text)s", text=str(text))


# What a value was, as reasons name it (mappings.convert.what, connectors.jsonpage.value_kind): "got a list".
VALUE_KINDS = {"an object": N_("an object"), "a list": N_("a list"), "an empty list": N_("an empty list"),
               "a text": N_("a text"),
               "a string": N_("a string"), "str": N_("text"),
               "a number": N_("a number"), "int": N_("an integer"), "float": N_("a decimal number"),
               "a boolean": N_("a boolean"), "bool": N_("a boolean"), "null": N_("null"), "NoneType": N_("null"),
               "list": N_("a list"), "dict": N_("an object")}  # fmt: skip


def _part(name: str, value: str) -> Any:
    """A parameter of a reason or a failure, by its name: what a value was, a library's words (code), a failure's
    exception, a failure inside a failure; anything else (the system's own words, a path, a count) as it is."""
    if name == "what" and value in VALUE_KINDS:
        return _(VALUE_KINDS[value])
    if name == "typed":
        return _shape(value, TYPED, _typed_part) or _code(value[:300])
    if name == "kind":
        return _(CURSOR_KINDS[value]) if value in CURSOR_KINDS else value
    if name == "setting":  # a registry value, as written there
        return _code(value)
    if name in ("why", "detail", "keys"):
        return _shape(value, CAUSES) or _code(value[:300])
    if name in (
        "sheet",
        "sheets",
        "file",
        "columns",
    ):  # a sheet's, a file's or columns' names: names, not words
        return _code(value)
    if name == "exc":
        return _(EXCEPTION_LABELS[value]) if value in EXCEPTION_LABELS else _code(value)
    if name in ("first", "last", "cause"):
        return reason(value)
    return value


# mappings.typed: why a typed value does not fit (after "typed value: "); `key: why` for a value its type key refused
TYPED = _shapes(
    (r"the typed values are an object of names, got (?P<what>.*)",
     N_("the typed values are an object of names, got %(what)s")),
    (r"typed values nested more than (?P<n>\d+) deep", N_("typed values nested more than %(n)s deep")),
    (r"unknown type key (?P<key>.*) \(known: (?P<known>.*)\)", N_("unknown type key %(key)s (known: %(known)s)")),
    (r"a typed value is an object of one type key, got (?P<what>.*)",
     N_("a typed value is an object of one type key, got %(what)s")),
    (r"a typed value without its type key", N_("a typed value without its type key")),
    (r"a typed value has (?P<n>\d+) type keys \((?P<known>.*)\): one is expected",
     N_("a typed value has %(n)s type keys (%(known)s): one is expected")),
    (r"a typed value (?P<key>'.*') has other keys beside it \((?P<known>.*)\): it is expected alone",
     N_("a typed value %(key)s has other keys beside it (%(known)s): it is expected alone")),
    (r"(?P<n>\d+) more failures", N_("%(n)s more failures")),
    (r"(?P<key>[^:]*): (?P<wrong>.*)", N_("%(key)s: %(wrong)s")),
)  # fmt: skip
TYPED_WRONG = _shapes(
    (r"an object holding (?P<key>.*) is expected, got (?P<what>.*)",
     N_("an object holding %(key)s is expected, got %(what)s")),
    (r"a text is expected, got (?P<what>.*)", N_("a text is expected, got %(what)s")),
    (r"a number is expected, got (?P<what>.*)", N_("a number is expected, got %(what)s")),
    (r"true or false is expected, got (?P<what>.*)", N_("true or false is expected, got %(what)s")),
    (r"a list is expected, got (?P<what>.*)", N_("a list is expected, got %(what)s")),
    (r"an object is expected, got (?P<what>.*)", N_("an object is expected, got %(what)s")),
    (r"an integer is expected, got (?P<what>.*)", N_("an integer is expected, got %(what)s")),
    (r"not a number \(beyond a double's range\)", N_("not a number (beyond a double's range)")),
    (r"not a number \(beyond (?P<bound>.*)\)", N_("not a number (beyond %(bound)s)")),
    (r"not a number", N_("not a number")),
    (r"not a 64-bit integer", N_("not a 64-bit integer")),
    (r"a list of texts is expected", N_("a list of texts is expected")),
    (r"not a 32-bit integer", N_("not a 32-bit integer")),
    (r"not a time \(ISO 8601 text or milliseconds since 1970\)",
     N_("not a time (ISO 8601 text or milliseconds since 1970)")),
    (r"a time without its offset", N_("a time without its offset")),
    (r"a time out of range \(years 1 to 9999\)", N_("a time out of range (years 1 to 9999)")),
    (r"a time is expected \(ISO 8601 text or milliseconds since 1970\), got (?P<what>.*)",
     N_("a time is expected (ISO 8601 text or milliseconds since 1970), got %(what)s")),
)  # fmt: skip
CURSOR_KINDS = {"object": N_("object"), "list": N_("list"), "text": N_("text")}


def _typed_part(name: str, value: str) -> Any:
    if name == "wrong":
        return _shape(value, TYPED_WRONG, _part) or _code(value[:300])
    if name in ("key", "known"):
        return _code(value)
    return _part(name, value)


def _message(text: str) -> Markup | None:
    """A connector's message (its endpoint and operations taken off) of a known shape, maybe followed by a suffix
    (tried first: a message's library text would swallow where reading stopped)."""
    for pattern, msgid in FAILURE_SUFFIXES:
        found = pattern.fullmatch(text)
        inner = _message(found["message"]) if found else None
        if found and inner is not None:
            return _(msgid, **{**{k: _part(k, v) for k, v in found.groupdict().items()}, "message": inner})
    return _shape(text, FAILURES, _part)


def _operation(name: str) -> Markup:
    return _shape(name, OPERATIONS) or _code(name)


def _failure(text: str, *, named: bool = True) -> Markup | None:
    """A connector error's text, "<endpoint>: [<operation>: …]<message>", when its message has a known shape;
    `named=False`: said without its endpoint, as a record's detail defect is (connectors.detail._said): "detail:
    HTTP 404: …" (an operation's name is never taken for an endpoint)."""
    head = FAILURE.fullmatch(text) if named else None
    if named and (head is None or _shape(head["endpoint"], OPERATIONS) is not None):
        return None
    operations, rest = [], head["rest"] if head else text
    while (said := _message(rest)) is None:
        step = OPERATION.fullmatch(rest)
        if step is None or len(operations) == MAX_OPERATIONS:
            return None
        operations.append(step["operation"])
        rest = step["rest"]
    if operations:
        said = _(
            "%(operation)s: %(message)s",
            operation=Markup(", ").join(map(_operation, operations)),
            message=said,
        )
    return (
        _("%(endpoint)s: %(message)s", endpoint=label(ENDPOINTS, head["endpoint"]), message=said)
        if head
        else said
    )


def _error_class(text: str) -> tuple[str, str] | None:
    """The class before a failure's text, as it is stored "<class>: <text>" (a task failure, a trace, a circuit's
    last error): one the console names, or any exception class before a connector error's text."""
    cls, sep, rest = text.partition(": ")
    if sep and (cls in ERROR_CLASS_LABELS or (re.fullmatch(r"[A-Z]\w+", cls) and _failure(rest) is not None)):
        return cls, rest
    return None


def reason(text: str | None, *, technical: bool = False) -> Markup:
    """A stored mapping reason, or a failure's message (a connector error's text, maybe after its class), in the
    console's language. `technical`: the text is a library's (an exception of a class that is not ours): when it has
    none of our shapes it is shown as the code it is, not as "Other"."""
    if not text:
        return Markup("")
    text = str(text)
    said = _known(text)
    if said is not None:
        return said
    if technical:
        return _("Technical detail, not translated: %(text)s", text=_code(text))
    return _("Other: %(text)s", text=text)


def _known(text: str) -> Markup | None:
    """`text` in the console's language when it has one of our shapes, else None."""
    classed = _error_class(text)
    if classed is not None:
        cls, rest = classed
        return _("%(class)s: %(reason)s", **{"class": label(ERROR_CLASS_LABELS, cls), "reason": reason(rest)})
    return (
        _shape(text, REASONS, _part)
        or _shape(text, TASKS, _task_part)
        or _failure(text)
        or _failure(text, named=False)
    )


def failure_reason(failure: Any, text: str | None) -> Markup:
    """A reason of a failure: a failed task's message is technical when its class is not ours (a library's
    exception: psycopg, Airflow); a refused delivery's is the portal's own words (its answer's message), said
    as the portal's, not as "Other"."""
    if getattr(failure, "kind", "") == "delivery" and text and _known(str(text)) is None:
        return _("The portal said: %(said)s", said=str(text))
    technical = getattr(failure, "kind", "") == "task" and getattr(failure, "error_class", None) not in (
        ERROR_CLASS_LABELS
    )
    return reason(text, technical=technical)


def failure_message(row: Any) -> Markup:
    """The list's one-line message of a failure: its first reason, translated when of a known shape."""
    message = getattr(row, "message", "") or ""
    if ": " in message and getattr(row, "kind", "") == "quarantine":
        field, rest = message.split(": ", 1)
        return _("%(field)s: %(reason)s", field=field_name(field), reason=reason(rest.split("; ")[0]))
    return failure_reason(row, message)


def trace_detail(text: str | None) -> Markup:
    """A trace event's detail: the quarantined list of field reasons, else one of TRACE's shapes."""
    if not text:
        return Markup("")
    seen = re.fullmatch(r"(?P<body>.*) \(seen (?P<n>\d+) times, last (?P<at>[^)]*)\)", text, re.S)
    suffix = _(" (seen %(n)s times, last %(at)s)", n=seen["n"], at=seen["at"]) if seen else ""
    body = seen["body"] if seen else text
    head, _sep, rest = body.partition(": ")
    if re.fullmatch(r"[A-Z]\w+", head) and _failure(rest) is not None:  # a failed call or delivery
        return reason(body) + suffix
    if head in ERROR_CLASS_LABELS or re.fullmatch(r"[A-Z]\w+", head):
        parts = body.split(": ", 1)[1].split("; ") if ": " in body else []
        shown = Markup("; ").join(
            _(
                "%(field)s: %(reason)s",
                field=field_name(p.split(": ", 1)[0]),
                reason=reason(p.split(": ", 1)[1]),
            )
            if ": " in p
            else reason(p)
            for p in parts
        )
        return (
            _("%(class)s: %(reasons)s", **{"class": label(ERROR_CLASS_LABELS, head), "reasons": shown})
            + suffix
        )
    return _by_shape(body, TRACE, nested=lambda k, v: reason(v) if k == "why" else v) + suffix


def problem(text: str) -> Markup:
    return _by_shape(text, PROBLEMS, nested=_problem_part)


DURATION_UNITS = {"d": N_("%(n)s d"), "h": N_("%(n)s h"), "m": N_("%(n)s min"), "s": N_("%(n)s s")}


def duration(text: str) -> Any:
    """health.format_duration's '3d 04h', '2h 05m', '45m', '30s' with the console's units."""
    parts = re.findall(r"(\d+)([dhms])", text)
    if not parts or re.sub(r"\d+[dhms]|\s", "", text):
        return text
    return Markup(" ").join(_(DURATION_UNITS[unit], n=int(n)) for n, unit in parts)


def _problem_part(name: str, value: str) -> Any:
    if name == "page":
        return reason(value)
    if name in ("age", "deadline"):
        return duration(value)
    if name in ("rate", "threshold"):
        return percent_text(value)
    if name in ("failed", "total"):
        return number(int(value.replace(",", "")))
    if name == "steps":
        return Markup("; ").join(
            _by_shape(step, STEP_SHARES, nested=_problem_part) for step in value.split("; ")
        )
    return value


# health.shares(): one step's failures in the error rate's parentheses.
STEP_SHARES = _shapes(
    (r"(?P<failed>[\d,]+) of (?P<total>[\d,]+) runs failed", N_("%(failed)s of %(total)s runs failed")),
    (r"(?P<failed>[\d,]+) of (?P<total>[\d,]+) fetched records quarantined",
     N_("%(failed)s of %(total)s fetched records quarantined")),
    (r"(?P<failed>[\d,]+) of (?P<total>[\d,]+) deliveries failed",
     N_("%(failed)s of %(total)s deliveries failed")),
)  # fmt: skip


def percent_text(value: str) -> str:
    try:
        return percent(float(value.rstrip("%")) / 100)
    except ValueError:
        return value


def problems(source: Any) -> list[Markup]:
    return [problem(p) for p in getattr(source, "problems", [])]


def event_label(name: str) -> str:
    return label(EVENT_LABELS, name)


def history_detail(what: str, text: str | None) -> Markup:
    if not text:
        return Markup("")
    if what in ("resolved", "redriven", "skipped", "cleared", "superseded"):
        who, _sep, comment = text.partition(": ")
        return _("%(who)s: %(comment)s", who=who, comment=comment) if comment else escape(who)
    if what == "attempt":  # failure_detail.py: f"{operation} {endpoint}: {error_class} {message}"
        found = re.fullmatch(
            r"(?P<operation>[^:\n]{1,100}?) (?P<endpoint>[^\s:]+): (?P<cls>\w+) (?P<message>.*)", text, re.S
        )
        if found:
            return _(
                "%(operation)s %(endpoint)s: %(class)s — %(reason)s",
                operation=_operation(found["operation"]),
                endpoint=found["endpoint"],
                reason=reason(found["message"]),
                **{"class": label(ERROR_CLASS_LABELS, found["cls"])},
            )
        return _("Attempt: %(detail)s", detail=text)
    if what == "task_failed":
        return escape(text)  # dag_id.task_id: codes
    return _by_shape(text, HISTORY, nested=_history_part)


def _history_part(name: str, value: str) -> Any:
    if name == "state":
        return label(STATE_LABELS, value)
    if name == "cls":
        return label(ERROR_CLASS_LABELS, value) if value else ""
    return reason(value) if name == "why" else value


def ref(failure: Any) -> Markup:
    """What a failure names: a record id, a MaHoSo, a run… ('page N' for a refused page, from the view)."""
    text = getattr(failure, "ref", None) or ""
    page = re.fullmatch(r"page (\d+)", text) if getattr(failure, "kind", "") == "refused" else None
    return _("page %(n)s", n=page[1]) if page else escape(text)


# What a defect names when it is not one field: the whole record, or its detail call (connectors.detail).
WHOLE = {"(record)": N_("(the whole record)"), "(detail)": N_("(the dossier's detail call)")}


# The canonical record's fields (schemas.dossier) as an administrator reads them; a list's item's by the list's
# and its own: `history[3].at` is "Quá trình xử lý [3] › Thời điểm". The name itself stays beside it on the failure's
# page, for whoever fixes the mapping.
FIELD_LABELS = {
    "source": NP_("field", "Source"),
    "source_record_id": NP_("field", "Record id at the source"),
    "ma_ho_so": NP_("field", "Dossier code (MaHoSo)"),
    "source_code": NP_("field", "Dossier code at the source"),
    "inter_system_code": NP_("field", "Inter-system code"),
    "agency_code": NP_("field", "Agency code"),
    "agency_name": NP_("field", "Agency name"),
    "province_code": NP_("field", "Province code"),
    "district_code": NP_("field", "District code"),
    "commune_code": NP_("field", "Commune code"),
    "dvhc_version": NP_("field", "Administrative units version"),
    "procedure_code": NP_("field", "Procedure code"),
    "procedure_local_code": NP_("field", "Procedure code at the source"),
    "procedure_name": NP_("field", "Procedure name"),
    "field_code": NP_("field", "Sector code"),
    "field_name": NP_("field", "Sector name"),
    "service_level": NP_("field", "Service level"),
    "channel": NP_("field", "Channel"),
    "result_delivery": NP_("field", "Result delivery"),
    "summary": NP_("field", "Summary"),
    "applicant": NP_("field", "Applicant"),
    "applicant.type": NP_("field", "Applicant type"),
    "applicant.name": NP_("field", "Applicant's name"),
    "applicant.id_type": NP_("field", "ID document type"),
    "applicant.id_number": NP_("field", "ID number"),
    "applicant.birth_date": NP_("field", "Date of birth"),
    "applicant.birth_date_precision": NP_("field", "Date of birth precision"),
    "applicant.phone": NP_("field", "Phone"),
    "applicant.email": NP_("field", "Email"),
    "applicant.address": NP_("field", "Address"),
    "applicant.commune_code": NP_("field", "Applicant's commune code"),
    "applicant.authorised_filer": NP_("field", "Authorised filer"),
    "submitted_at": NP_("field", "Submitted"),
    "received_at": NP_("field", "Received"),
    "due_at": NP_("field", "Due"),
    "supplement_requested_at": NP_("field", "Supplement requested"),
    "refused_at": NP_("field", "Refused"),
    "finished_at": NP_("field", "Finished"),
    "returned_at": NP_("field", "Returned"),
    "processing_days": NP_("field", "Processing days"),
    "status": NP_("field", "Status"),
    "status_raw": NP_("field", "Status at the source"),
    "note": NP_("field", "Note"),
    "history": NP_("field", "Processing history"),
    "history.status": NP_("field", "Status"),
    "history.at": NP_("field", "Time"),
    "history.status_raw": NP_("field", "Status at the source"),
    "history.actor": NP_("field", "Handled by"),
    "history.position": NP_("field", "Position"),
    "history.department": NP_("field", "Department"),
    "history.content": NP_("field", "Content"),
    "history.due_at": NP_("field", "Step due"),
    "documents": NP_("field", "Documents"),
    "documents.name": NP_("field", "Document name"),
    "documents.form_code": NP_("field", "Form code"),
    "documents.url": NP_("field", "Link"),
    "documents.size": NP_("field", "Size"),
    "documents.sha256": NP_("field", "SHA-256"),
    "fees": NP_("field", "Fees"),
    "fees.name": NP_("field", "Fee name"),
    "fees.code": NP_("field", "Fee code"),
    "fees.amount_vnd": NP_("field", "Amount (VND)"),
    "fees.method": NP_("field", "Payment method"),
    "fees.type": NP_("field", "Fee type"),
    "supplements": NP_("field", "Supplements"),
    "supplements.requested_at": NP_("field", "Requested"),
    "supplements.received_at": NP_("field", "Supplement received"),
    "supplements.content": NP_("field", "Content"),
    "results": NP_("field", "Results"),
    "results.name": NP_("field", "Result name"),
    "results.number": NP_("field", "Document number"),
    "results.url": NP_("field", "Link"),
    "results.issued_at": NP_("field", "Issued"),
    "source_updated_at": NP_("field", "Updated at the source"),
    "text_fixes": NP_("field", "Text repairs"),
    "flags": NP_("field", "Flags"),
    "on_time": NP_("field", "On time"),
}  # fmt: skip
_ITEM = re.compile(r"(?P<list>[a-z_]+)\[(?P<i>\d+)\]\.(?P<leaf>[a-z_]+)")


def field_name(name: str | None) -> Markup:
    """An errors row's field: a canonical field by its label (field_label), the whole record or its detail call,
    or a refused page ('trang N', failure_detail.py)."""
    page = re.fullmatch(r"trang (\d+)", name or "")
    if page:
        return _("page %(n)s", n=page[1])
    return _(WHOLE[name]) if name in WHOLE else field_label(name or "")


def field_label(name: str) -> Markup:
    """A canonical field's label, or the name as the data names it when it is none of the schema's."""
    item = _ITEM.fullmatch(name)
    if item and f"{item['list']}.{item['leaf']}" in FIELD_LABELS:
        return Markup("%s [%s] › %s") % (
            _label(FIELD_LABELS[item["list"]]),
            item["i"],
            _label(FIELD_LABELS[f"{item['list']}.{item['leaf']}"]),
        )
    return _label(FIELD_LABELS[name]) if name in FIELD_LABELS else escape(name)


def _label(marked: tuple[str, str]) -> Markup:
    return escape(translations().pgettext(*marked))


def fact_label(key: str) -> str:
    return label(FACT_LABELS, key)


def fact_value(key: str, value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and key in ("seen", "attempts", "byte_offset"):
        return number(value)
    return value


def action_label(name: str) -> str:
    return label(ACTION_LABELS, name)


def action_state(name: str | None) -> str:
    return label(ACTION_STATES, name) if name else ""


def action_result(result: Any) -> Markup:
    """admin_action.result as words, never a raw dict."""
    if not isinstance(result, dict):
        return Markup("")
    said = []
    if result.get("paused"):
        said.append(_("the DAG onestop_redrive is paused: turn it on to run"))
    for key in ("error", "trigger_error"):
        if result.get(key):
            said.append(_("Airflow did not take the request: %(error)s", error=result[key]))
    return Markup("; ").join(said)
