"""The mapping file format: the reference. One YAML file per vendor dialect, `mappings/<dialect>.yaml`.

A mapping says how one vendor's record (a dict: JSON as parsed, or XML via mappings.element_to_dict)
becomes the canonical schemas.Dossier. It is validated completely when loaded — before any record is
read — and every problem is reported as `<file>:<line>: <dotted key>: <message>`. mappings/igate.yaml is
a complete example.

    dialect: igate                    # required; the file's name without .yaml
    description: iGate-style REST JSON
    record:                           # required
      id: id                          #   path(s) to the source record id -> Dossier.source_record_id
      updated_at: updatedDate         #   the source's own update time (the sync watermark)
      deleted: {path: _op, equals: delete}   # optional: how a change feed's deletion is recognized
    timezone: Asia/Ho_Chi_Minh        # default Asia/Ho_Chi_Minh: the zone of times written without one (every
                                      #   time comes out in Asia/Ho_Chi_Minh)
    date_formats: [iso]               # default [iso]: tried in order for date and datetime fields
    null_values: ["", "0000-00-00"]   # default [""]: texts that mean "no value"; `false` (unquoted): JSON's
                                      #   false too, as Odoo writes an empty field
    code_tables: {...}                # vendor value -> canonical code
    typed_values: dynamodb            # optional: values in typed wrappers ({"S": …}, {"stringValue": …}), see
                                      #   TYPED VALUES
    json_text: [ghiChu.duLieu]        # optional: values holding a JSON document as text, see JSON IN TEXT
    fields: {...}                     # required: canonical field -> rule

Top-level keys other than these are errors. `record.id` and `record.updated_at` take a path, a list of
paths, or {path, transform, formats}. The engine also sets `source` (the name the caller passes),
`text_fixes`; the model derives `flags` and `on_time`: none of these can be mapped.

DELETIONS (change feeds)
  `record.deleted: {path, equals}` says which records announce a deletion rather than carry a dossier.
  path is a path or a fallback chain (null_values apply); equals is a value or a list of values, compared
  as text like code-table keys (`equals: true` matches true and "true"; `equals: 1` matches 1 and "1").
  Both keys are required. CompiledMapping.is_deleted(record) answers it (always False without the rule);
  a deletion is not a dossier: callers take record_id(record) (and updated_at(record)) instead of
  normalizing it, and normalize answers a deletion with one "(record)" error.

PATHS
  `applicant.address.ward.code`  keys, dot-separated (JSON keys, or XML element local names)
  `history[0].status`            [n] indexes a list ([-1] = last); on a dict (one XML child) [0] is the dict
  `HoSo.@id`                     XML attributes are "@name" keys; an element's own text beside children/attributes is "#text"
  `$.code`                       from the record root, inside `each` (where paths are relative to the item)
  `['@odata.id']`, `a["b.c"]`    a key that holds a dot or a bracket, quoted in brackets as JSONPath writes it
  `link[?(@.relation=='next')]`  a filter: the list of the items whose key (a dotted path) equals the quoted
                                 text (compared as text; `[?@.k=='v']` too); `[0]` after it takes the first
                                 (`identifier[?(@.system=='urn:x')][0].value`, FHIR's extensions by url)
  A path that meets a missing key, a None, a non-dict or an index out of range yields None; a key step
  on a list yields None too (say which item with [n]). Text values are stripped; a value listed in
  null_values is None. A list of paths is a fallback chain: the first that yields a value wins.

RULES (under `fields:`; inside `each:` for list items)
  The key is a canonical field: `ma_ho_so`, or dotted into a nested model: `applicant.name`. A list field
  (history, documents, fees, supplements, results) takes `each`, whose keys are fields of the item model
  (StatusEvent, Document, Fee, …). The value is a rule:
    ma_ho_so: code                               shorthand for {path: code}
    ma_ho_so: [code, codeLocal]                  shorthand for a fallback chain
    procedure_code: {path: [procedure.nationCode, procedure.code], transform: national_procedure_code}
  Rule keys:
    path       a path or a list of paths (a fallback chain)
    const      a canonical value for every record (`dvhc_version: {const: legacy}`); stands alone
    type       str | int | float | bool | datetime | date | decimal. Default: the field's own type (text
               fields str, times datetime, dates date, codes and counts int), so it is rarely written.
               An explicit type must fit the field (type int on a text field is an error). decimal reads
               an amount of VND (50000, "50.000", "50,000", "50.000,00", "50 000 đ") as an int; a
               fraction of a dong is an error. str accepts numbers (12 -> "12"); bool accepts true/false,
               1/0, yes/no, có/không.
    code       a code table name: the value is looked up (as text: 12 and "12" are the same key) and an
               unknown value is an error. The table's target must be the field's code set. Excludes type.
    transform  a name or a list of names, applied in order to the raw value before code/type:
               national_procedure_code (1.000656.000.00.00.H56 -> 1.000656), digits, upper, lower,
               strip, collapse_spaces, nfc, strip_prefix:<text>, strip_suffix:<text>, after_last:<text> (what
               follows its last occurrence: a resource name's last segment, `after_last:/`),
               commune_code_by_name[:<province code>] (a commune's GSO code from names, offline: "Xã Cẩm Vũ,
               H. Cẩm Giàng" with :30 -> 10909 district-era, "Phường Lê Thanh Nghị, Hải Phòng" -> its 2025
               code; the argument is the province when the text names none; a name matching no unit or
               several is a field error; mappings.unit_names) and district_code_by_name[:<province code>]
               (that commune's district-era district, none for a 2025 commune: map it to district_code so
               that mappings.units knows the code's unit system). A transform that leaves nothing makes
               the value missing. New ones: mappings.transforms.register_transform.
    default    the canonical value when the path yields nothing (validated against the field at load)
    required   true: a missing value is an error naming the field and every path tried. Fields the model
               requires (ma_ho_so, procedure_code, procedure_name, channel, status, applicant.name, and
               the items' status/at, name, amount_vnd) are required without saying so, and a mapping
               without a rule for one of them does not load.
    formats    date format names for this field, instead of the file's date_formats
    join       a separator: every path of the list is read and the values are joined into one text
               (`applicant.address: {path: [street, ward.name, district.name], join: ", "}`)
    each       item rules, for a list field. The path yields a list; a dict counts as a one-element list
               (XML with one child), None as empty. A list rule takes only path (or zip), each and required.
    zip        instead of path, for a list kept as parallel lists, one per item key (a Lotus Notes table: its
               columns multi-value items, QT_TrangThai[i] beside QT_ThoiDiem[i]; a form's name[] fields):
                 history:
                   zip: {TrangThai: QT_TrangThai, ThoiDiem: QT_ThoiDiem}
                   each: {status: {path: TrangThai, code: status}, at: ThoiDiem}
               item i is {TrangThai: QT_TrangThai[i], ThoiDiem: QT_ThoiDiem[i]}, read by `each` (whose paths
               start with a zip key). A value that is not a list is a list of that one value (Notes writes an
               item that holds one value bare, as DAS does), a missing one or one in null_values holds none
               (then as many missing values as the others hold); lists of other lengths are an error naming
               each list and its length, never items paired wrongly.

TYPED VALUES (mappings.typed)
  A document store's values each inside a one-key wrapper naming its type (DynamoDB's {"S": "…"}, {"N": "12"},
  {"L": [{"M": {…}}]}; Firestore's {"stringValue": "…"}, {"mapValue": {"fields": {…}}}) are read as plain JSON
  before any path is: the paths say `history[0].status`, not `history.L[0].M.status.S`.
    typed_values: dynamodb                         # a preset, the record itself the typed map
    typed_values: {preset: firestore, at: fields}  # the typed map at a path of the record (others kept)
    typed_values: {at: attrs, types: {s: text, n: number, l: list, m: "map:fields"}}   # a table of one's own
  `types` (beside a preset: added to its table) names each wrapper key's kind: text, number, integer, int32,
  double, float (a double's text: EJSON's $numberDouble), bool, null, keep, list, map (`list:<key>`/`map:<key>`: their items inside an object at that key),
  text_set, number_set, date (ISO 8601 text with its offset, or milliseconds since 1970 — a number, or a wrapper
  holding one — read as ISO 8601 text in UTC). A wrapper with no type key or several, an unknown key, or a value
  unlike its kind (an `N` that is no number) fails its record, naming the field that reads it (or `(record)`)
  and the path of the value.
    typed_values: mongo_ejson                      # MongoDB Extended JSON v2, canonical or relaxed
    typed_values: {types: {$when: date}, plain: true}   # a table of one's own read as EJSON is
  `plain` (the mongo_ejson preset's own): only some values are wrapped, the others plain JSON — an object is a
  wrapper when one of its keys is a type key, which must then be alone ({"$date": …, "x": 1} fails its record);
  other objects are documents and lists arrays, their values read in turn. mongo_ejson reads $oid as text,
  $date as a time, $numberInt/$numberLong as integers, $numberDouble as a float (its text read), $numberDecimal as a number's
  checked text ("150000.00"), $binary, $timestamp, $regularExpression as they are.

JSON IN TEXT (mappings.jsontexts)
  A system whose fields are all scalar keeps a structured value as text: a ticketing system's multi-line text
  field that an integration fills with a dossier's steps as JSON (Zendesk's custom fields), a SharePoint note.
  `json_text` lists the paths of such texts; each is read as JSON where it stands, after typed_values and before
  any rule, so that a list rule's path reaches it: `history: {path: "custom_fields[?(@.id=='360000000021')][0]
  .value", each: {…}}`. A path ends at a key or an index; a text there that is not JSON (or nests past the
  parser) fails its record, named by the field that reads it; a value that is not text is left as it is.

DATES (mappings.dates)
  iso (fromisoformat: +07:00, +0700, Z, no zone, fractions, date only), epoch_s, epoch_ms, dotnet (the
  JSON date of WCF, ASP.NET AJAX and OData v2: /Date(1700000000000)/, /Date(1700000000000+0700)/, also
  \\/Date(…)\\/ — milliseconds since 1970 UTC, which alone fix the instant; the optional ±hhmm is only the
  offset it was written at), excel (a spreadsheet's serial day number, `45474.375` = 2024-07-01 09:00,
  local time), and patterns of yyyy MM M dd d HH H mm ss S… with the separators -/.:, and
  space/T: yyyyMMddHHmmss, dd/MM/yyyy, dd/MM/yyyy HH:mm, yyyy-MM-dd HH:mm:ss, MM/yyyy, yyyy, …; a 12-hour clock
  is hh or h with tt (AM/PM as .NET's en-US culture writes it, SA/CH as its vi-VN one: M/d/yyyy h:mm:ss tt);
  text in single quotes is literal, in any case ('ngày' dd 'tháng' MM 'năm' yyyy). yy is a two-digit year,
  its century Oracle's RR as read this century (00-49: 2000-2049, 50-99: 1950-1999, whatever the date it is
  read on); MMM and MMMM a month's name, English or Vietnamese (Dec, December, Thg12, thg 12, Th12, Tháng
  Mười Hai, tháng 12), any case, with or without diacritics: dd-MMM-yy is Oracle's default DD-MON-RR
  (05-DEC-26), dd/MM/yy a FoxPro or Excel screen's 05/12/26 (see mappings.dates).  A time
  without a zone is in `timezone`; every time comes out in Asia/Ho_Chi_Minh (converted when it was written
  with another offset or read in another zone: Odoo's naive UTC with `timezone: UTC`). A pattern without a day
  (MM/yyyy, yyyy) is partial: it applies to date fields only (the first day of the period); datetime
  fields skip it. A date field whose model has `<field>_precision` (applicant.birth_date) gets "day",
  "month" or "year" there. A value that fits a format's shape but is no real date (2025-02-30,
  /Date(0+2500)/) is "impossible"; one that fits none (/Date(abc)/) is "unrecognized": both are field
  errors, never exceptions.

CODE TABLES
    code_tables:
      status:
        target: status          # status | channel | result_delivery | applicant_type | id_type | str | int
        values: {0: 1, 1: 2, 12: 3}
      channel:
        target: channel
        periods:                # the table in force on the record's reference date (received_at, else
          - until: 2024-01-01   # submitted_at, as an Asia/Ho_Chi_Minh day); `until` is exclusive and
            values: {1: 2, 2: 1}  # only the last period may omit it. No reference date: the last period.
          - values: {0: 1, 1: 2, 2: 3}
  Keys are the vendor values as written in the file (`01` stays "01"; quote nothing unless YAML needs
  it). Values must be members of the target code set (a status 11 does not load). `match: text` beside
  `target` compares the vendor's values as text people type: "ĐANG XỬ LÝ" and "đang  xử lý" find
  "Đang xử lý" (case and runs of spaces aside); two keys that are then the same must mean the same.

TEXT
  Every text value comes out NFC. When a value was not NFC, TextFix(field, "nfc") is added to the
  dossier's text_fixes; transforms that repair text (legacy TCVN3/VNI decoders) return
  mappings.TextFixed(text, fix) and are recorded the same way (see mappings.text).
  Every text value is screened too (schemas.text_safety): invisible and bidi-control characters (U+200B,
  U+202E, U+FEFF, soft hyphens, …) are removed from free text (names, addresses, notes, …), recorded as
  TextFix(field, "invisible"); in a code or an identifier (MaHoSo, ID number, phone, e-mail, any code, a URL)
  they are a field error, like control characters (U+0000, DEL, C1), lone surrogates and U+FFFE/U+FFFF in
  any text field. A text longer than its field's bound (schemas.dossier) is a field error, never truncated.

ERRORS AT RUN TIME
  normalize never raises for bad data. Each failing field becomes a FieldError(field, source_path,
  reason, value): the engine's conversion errors (impossible date, unknown code, bad number, missing
  required field) and the model's validation errors mapped back to the canonical field and source path,
  each field once, in file order. Any error means no dossier.

COMPILING
  mappings.get_mapping(dialect) loads, validates and compiles a file once (cached per file; the directory
  in $ONESTOP_MAPPINGS_DIR is searched before the package's). Compiling generates one Python function per
  mapping (mappings.codegen); `CompiledMapping.source` shows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from mappings.jsontexts import JsonTexts
from mappings.typed import TypedValues

TYPES = ("str", "int", "float", "bool", "datetime", "date", "decimal")
TOP_LEVEL_KEYS = (
    "dialect",
    "description",
    "record",
    "timezone",
    "date_formats",
    "null_values",
    "code_tables",
    "fields",
    "typed_values",
    "json_text",
)
RULE_KEYS = (
    "path",
    "const",
    "type",
    "code",
    "transform",
    "default",
    "required",
    "formats",
    "join",
    "each",
    "zip",
)
DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
DEFAULT_DATE_FORMATS = ("iso",)
DEFAULT_NULL_VALUES = ("",)


@dataclass(frozen=True)
class Rule:
    """How one canonical field is filled (after validation; `type` is resolved, never None for values)."""

    target: str  # canonical field, dotted, relative to the model it belongs to (the list item inside `each`)
    key: str  # where the rule sits in the file, for messages (e.g. fields.history.each.at)
    line: int
    paths: tuple[str, ...] = ()
    const: Any = None
    has_const: bool = False
    type: str = "str"
    code: str | None = None
    transforms: tuple[str, ...] = ()
    default: Any = None
    required: bool = False  # as written, or because the model requires the field
    formats: tuple[str, ...] | None = None
    join: str | None = None
    each: dict[str, Rule] | None = None
    # a list made of parallel lists: (item key, the path of its list), in order
    zip: tuple[tuple[str, str], ...] | None = None
    precision: str | None = None  # sibling field that receives a date's precision (day|month|year)
    text: str | None = None  # "free" or "code" for a text field filled from the source (schemas.text_safety)


@dataclass(frozen=True)
class DeletedRule:
    """record.deleted: the record announces a deletion when a path's value is one of `equals` (as text)."""

    key: str
    line: int
    paths: tuple[str, ...]
    equals: frozenset[str]


@dataclass(frozen=True)
class Period:
    until: date | None  # exclusive; None = open-ended (only the last period)
    values: dict[str, Any]


@dataclass(frozen=True)
class CodeTable:
    name: str
    target: str  # a key of mappings.targets.CODE_TARGETS
    periods: tuple[Period, ...]
    line: int = 0
    match: str = "exact"  # "text": vendor values compared without case and runs of spaces (runtime.TextKeys)


@dataclass(frozen=True)
class Mapping:
    """A validated mapping file. Compile it with mappings.compile_mapping (get_mapping does both, cached)."""

    file: str
    dialect: str
    description: str
    record_id: Rule
    updated_at: Rule
    timezone: str = DEFAULT_TIMEZONE
    date_formats: tuple[str, ...] = DEFAULT_DATE_FORMATS
    null_values: tuple[str, ...] = DEFAULT_NULL_VALUES
    false_is_null: bool = (
        False  # `false` in null_values: a JSON false is no value (Odoo writes empty fields so)
    )
    code_tables: dict[str, CodeTable] = field(default_factory=dict)
    fields: dict[str, Rule] = field(default_factory=dict)
    deleted: DeletedRule | None = None  # change feeds only
    # typed-value JSON (DynamoDB, Firestore) read as plain values before any path (mappings.typed)
    typed_values: TypedValues | None = None
    # values holding a JSON document as text, read as JSON before any rule (mappings.jsontexts)
    json_text: JsonTexts | None = None
