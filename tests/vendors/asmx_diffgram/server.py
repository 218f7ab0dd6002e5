"""An ASP.NET ASMX web service (IIS, .NET Framework 4, vi-VN culture) whose [WebMethod] returns a typed `DataSet`
filled by a stored procedure that returns several result sets: the dossiers, then their processing steps, fees and
documents as SIBLING tables (no DataRelation: each child row names its dossier by HoSoID), then the total.

Contract (what the vendor's integration guide says, and what this server enforces):
  GET  /ws/Service.asmx?WSDL      the WSDL as ASMX generates it for a DataSet return type: targetNamespace
                                  http://motcua.thanhha.gov.vn/, document/literal, a SOAP 1.1 port (ServiceSoap)
                                  and a SOAP 1.2 port (ServiceSoap12) on one address; GetHoSoResult is
                                  <s:sequence><s:element ref="s:schema"/><s:any/></s:sequence> (the schema imports
                                  http://www.w3.org/2001/XMLSchema by namespace alone)
  POST /ws/Service.asmx           SOAP 1.1: Content-Type text/xml; charset=utf-8,
                                            SOAPAction "http://motcua.thanhha.gov.vn/GetHoSo"
                                  SOAP 1.2: Content-Type application/soap+xml; charset=utf-8;
                                            action="http://motcua.thanhha.gov.vn/GetHoSo"
    Body: <GetHoSo><tenDangNhap/><matKhau/><tuNgay/><denNgay/><trang/><soBanGhi/></GetHoSo>  (qualified in the
          target namespace; the account is the method's first two parameters: no header, no session)
      tuNgay, denNgay  s:dateTime as XmlConvert reads it (RoundtripKind): yyyy-MM-ddTHH:mm:ss[.fffffff][zone] or
                       yyyy-MM-dd; no zone is the server's local time (Asia/Ho_Chi_Minh), a zone is converted to
                       it. A missing one is DateTime.MinValue, which the service refuses. The window is half-open
                       [tuNgay, denNgay) on the dossier's update time (NgayCapNhat).
      trang            int, 1-based;  soBanGhi  int, 1..100.  Dossiers ordered by (NgayCapNhat, HoSoID).
    -> <GetHoSoResponse><GetHoSoResult><xs:schema id="NewDataSet">…</xs:schema>
         <diffgr:diffgram><NewDataSet xmlns="">
           <Table diffgr:id="Table1" msdata:rowOrder="0">dossier columns</Table>*          (the page's dossiers)
           <Table1 diffgr:id="Table11" msdata:rowOrder="0">HoSoID, ThuTu, MaTrangThai, ThoiDiem, CanBoXuLy,
                   NoiDung</Table1>*                                (steps, ORDER BY HoSoID, ThuTu)
           <Table2 …>HoSoID, MaPhiLePhi, TenPhiLePhi, SoTien</Table2>*    (fees, ORDER BY HoSoID)
           <Table3 …>HoSoID, TenGiayTo, MaGiayTo</Table3>*                (documents, ORDER BY HoSoID)
           <Table4 …>TongSoBanGhi, Trang, SoBanGhi</Table4>               (one row: the window's total)
         </NewDataSet></diffgr:diffgram></GetHoSoResult></GetHoSoResponse>
  The DataSet is written as ASMX writes one (WriteXmlSchema, then WriteXml DiffGram, unindented): the inline
  schema types every column of the five tables; each row carries diffgr:id (table name + 1-based position) and
  msdata:rowOrder (0-based), a DBNull column is left out, so is an empty child table. DateTime columns are written
  local WITH the server's offset, "2025-03-04T08:15:00+07:00" (NgaySinh too: a date at midnight); money as SQL
  Server money, "100000.0000"; the vendor's own codes: MaTrangThai strings, HinhThucNop and LoaiDoiTuong ints;
  MaTTHC the province's local procedure code (national code + ".000.00.00.H23").
  Wrong or missing credentials: the service throws a SoapException, HTTP 500, faultcode soap:Client (SOAP 1.2:
  soap:Sender), faultstring REFUSAL, detail <LoiDichVu><MaLoi>DANG_NHAP</MaLoi></LoiDichVu> (counted). Other
  refusals are Faults too (HTTP 500, soap:Client / soap:Sender), in the words of the vendor's code (detail MaLoi
  THAM_SO) or of the Vietnamese .NET language pack (empty detail): a SOAPAction that is not the operation's, a body
  that is not GetHoSo, an int or a dateTime XmlConvert cannot read, XML that is not well-formed or carries a DTD,
  a missing tuNgay/denNgay (an unqualified element is one XmlSerializer does not see: missing), tuNgay not before
  denNgay, trang < 1 (a missing int is 0), soBanGhi outside 1..100; an envelope of the other SOAP version is
  soap:VersionMismatch, an unknown mustUnderstand header soap:MustUnderstand. Another media type, GET without
  ?WSDL (the help page is removed in web.config) and the HttpGet/HttpPost protocols are "request format" errors
  (HTTP 500, text); another path is IIS's 404. Every refusal is counted. No sessions: --revoke-at has no effect.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from string import Template
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree

from schemas.dossier import HCM
from tests.vendors.asmx import XSD, AsmxService, ClientFault, integer, members, text, unreadable
from tests.vendors.common import arguments, serve, updated

VENDOR = "asmx_diffgram"
SERVICE_PATH = "/ws/Service.asmx"
TNS = "http://motcua.thanhha.gov.vn/"
OPERATION = "GetHoSo"
ACTION = f"{TNS}{OPERATION}"
MSDATA = "urn:schemas-microsoft-com:xml-msdata"
DIFFGR = "urn:schemas-microsoft-com:xml-diffgram-v1"

USER, PASSWORD = "lienthong_thanhha", "TH@MotCua#2009"
REFUSAL = "Tài khoản không có quyền truy cập dịch vụ liên thông"
LOGIN_ERROR = "DANG_NHAP"
PARAMETER_ERROR = "THAM_SO"
MAX_PAGE_SIZE = 100
# XmlConvert.ToDateTime(RoundtripKind): an xsd:dateTime or an xsd:date, with an optional zone
XML_DATETIME = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})?\s*$"
)
MIN_VALUE = datetime(1, 1, 1, tzinfo=HCM)  # DateTime.MinValue: what XmlSerializer leaves for a missing one

# the vendor's own codes (its DM_TrangThai, DM_HinhThucNop and DM_DoiTuong tables)
STATUS = {1: "CHO_TIEP_NHAN", 2: "DA_TIEP_NHAN", 3: "KHONG_TIEP_NHAN", 4: "DANG_XU_LY", 5: "BO_SUNG",
          6: "CHO_NVTC", 7: "RUT_HO_SO", 8: "DUNG_XU_LY", 9: "DA_CO_KQ", 10: "DA_TRA_KQ"}  # fmt: skip
STATUS_NAME = {"CHO_TIEP_NHAN": "Chờ tiếp nhận", "DA_TIEP_NHAN": "Đã tiếp nhận",
               "KHONG_TIEP_NHAN": "Không tiếp nhận", "DANG_XU_LY": "Đang xử lý", "BO_SUNG": "Yêu cầu bổ sung",
               "CHO_NVTC": "Chờ thực hiện nghĩa vụ tài chính", "RUT_HO_SO": "Công dân rút hồ sơ",
               "DUNG_XU_LY": "Dừng xử lý", "DA_CO_KQ": "Đã có kết quả", "DA_TRA_KQ": "Đã trả kết quả"}  # fmt: skip
CHANNEL = {1: 0, 2: 1, 3: 2}  # HinhThucNop: 0 trực tiếp, 1 trực tuyến, 2 bưu chính công ích
APPLICANT = {1: 0, 2: 1}  # LoaiDoiTuong: 0 công dân, 1 tổ chức, doanh nghiệp

# The stored procedure's result sets, as SqlDataAdapter.Fill names and types them: (table, [(column, xs type)])
# fmt: off
TABLES: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "Table",
        (
            ("HoSoID", "long"), ("SoHoSo", "string"), ("MaTTHC", "string"), ("TenTTHC", "string"),
            ("MaLinhVuc", "string"), ("TenLinhVuc", "string"), ("MaDonVi", "string"), ("TenDonVi", "string"),
            ("HinhThucNop", "int"), ("MaTrangThai", "string"), ("TenTrangThai", "string"),
            ("TrichYeu", "string"), ("LoaiDoiTuong", "int"), ("HoTenNguoiNop", "string"),
            ("LoaiGiayTo", "string"), ("SoGiayTo", "string"), ("DienThoai", "string"), ("Email", "string"),
            ("NgaySinh", "dateTime"), ("DiaChi", "string"), ("NgayNop", "dateTime"),
            ("NgayTiepNhan", "dateTime"), ("NgayHenTra", "dateTime"), ("NgayCoKetQua", "dateTime"),
            ("NgayTraKetQua", "dateTime"), ("NgayCapNhat", "dateTime"),
        ),
    ),
    (
        "Table1",
        (("HoSoID", "long"), ("ThuTu", "int"), ("MaTrangThai", "string"), ("ThoiDiem", "dateTime"),
         ("CanBoXuLy", "string"), ("NoiDung", "string")),
    ),
    (
        "Table2",
        (("HoSoID", "long"), ("MaPhiLePhi", "string"), ("TenPhiLePhi", "string"), ("SoTien", "decimal")),
    ),
    ("Table3", (("HoSoID", "long"), ("TenGiayTo", "string"), ("MaGiayTo", "string"))),
    ("Table4", (("TongSoBanGhi", "int"), ("Trang", "int"), ("SoBanGhi", "int"))),
)
# fmt: on

WSDL = Template((Path(__file__).resolve().parent / "Service.wsdl").read_text(encoding="utf-8"))


def schema() -> str:
    """DataSet.WriteXmlSchema of the filled DataSet: the inline schema every answer begins with."""
    tables = "".join(
        f'<xs:element name="{name}"><xs:complexType><xs:sequence>'
        + "".join(f'<xs:element name="{c}" type="xs:{t}" minOccurs="0" />' for c, t in columns)
        + "</xs:sequence></xs:complexType></xs:element>"
        for name, columns in TABLES
    )
    return (
        f'<xs:schema id="NewDataSet" xmlns="" xmlns:xs="{XSD}" xmlns:msdata="{MSDATA}">'
        '<xs:element name="NewDataSet" msdata:IsDataSet="true" msdata:UseCurrentLocale="true">'
        f'<xs:complexType><xs:choice minOccurs="0" maxOccurs="unbounded">{tables}</xs:choice></xs:complexType>'
        "</xs:element></xs:schema>"
    )


def dataset_time(iso: str | None) -> str | None:
    """A truth time as a DataSet writes a DateTime column (DateTimeMode UnspecifiedLocal): local, +07:00."""
    return None if iso is None else datetime.fromisoformat(iso).astimezone(HCM).isoformat()


def money(amount: int) -> str:
    return f"{amount}.0000"  # SQL Server money, as the DataSet writes a decimal column read from it


def row(table: str, position: int, values: dict[str, Any]) -> str:
    """One DataRow in a DiffGram: diffgr:id and msdata:rowOrder, its columns in order, a DBNull one left out."""
    columns = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in values.items() if v is not None)
    return f'<{table} diffgr:id="{table}{position + 1}" msdata:rowOrder="{position}">{columns}</{table}>'


def dossier_row(item: dict[str, Any]) -> dict[str, Any]:
    a = item["applicant"]
    birth = a.get("birth_date")
    status = STATUS[item["status"]]
    return {
        "HoSoID": item["source_record_id"],
        "SoHoSo": item["ma_ho_so"],
        "MaTTHC": f"{item['procedure_code']}.000.00.00.H23",  # the province's local procedure code
        "TenTTHC": item["procedure_name"],
        "MaLinhVuc": item["field_code"],
        "TenLinhVuc": item["field_name"],
        "MaDonVi": item["agency_code"],
        "TenDonVi": item["agency_name"],
        "HinhThucNop": CHANNEL[item["channel"]],
        "MaTrangThai": status,
        "TenTrangThai": STATUS_NAME[status],
        "TrichYeu": item["summary"],
        "LoaiDoiTuong": APPLICANT[a["type"]],
        "HoTenNguoiNop": a["name"],
        "LoaiGiayTo": "CCCD" if a.get("id_type") == 1 else None,
        "SoGiayTo": a["id_number"],
        "DienThoai": a["phone"],
        "Email": a.get("email"),
        "NgaySinh": None if birth is None else f"{birth}T00:00:00+07:00",
        "DiaChi": a["address"],
        "NgayNop": dataset_time(item.get("submitted_at")),
        "NgayTiepNhan": dataset_time(item["received_at"]),
        "NgayHenTra": dataset_time(item["due_at"]),
        "NgayCoKetQua": dataset_time(item.get("finished_at")),
        "NgayTraKetQua": dataset_time(item.get("returned_at")),
        "NgayCapNhat": dataset_time(item["source_updated_at"]),
    }


def new_dataset(page: list[dict[str, Any]], total: int, number: int, size: int) -> str:
    """The stored procedure's five result sets, filled into a DataSet and written as a DiffGram."""
    by_id = sorted(page, key=lambda item: int(item["source_record_id"]))  # the child sets: ORDER BY HoSoID
    steps = [
        {"HoSoID": i["source_record_id"], "ThuTu": n, "MaTrangThai": STATUS[h["status"]],
         "ThoiDiem": dataset_time(h["at"]), "CanBoXuLy": h["actor"], "NoiDung": h["content"]}
        for i in by_id for n, h in enumerate(i["history"], 1)
    ]  # fmt: skip
    fees = [
        {"HoSoID": i["source_record_id"], "MaPhiLePhi": f["code"], "TenPhiLePhi": f["name"],
         "SoTien": money(f["amount_vnd"])}
        for i in by_id for f in i["fees"]
    ]  # fmt: skip
    documents = [
        {"HoSoID": i["source_record_id"], "TenGiayTo": d["name"], "MaGiayTo": d["form_code"]}
        for i in by_id
        for d in i["documents"]
    ]
    sets = [
        ("Table", [dossier_row(i) for i in page]),
        ("Table1", steps),
        ("Table2", fees),
        ("Table3", documents),
        ("Table4", [{"TongSoBanGhi": total, "Trang": number, "SoBanGhi": size}]),
    ]
    rows = "".join(row(table, n, values) for table, rows in sets for n, values in enumerate(rows))
    return (
        f'{schema()}<diffgr:diffgram xmlns:msdata="{MSDATA}" xmlns:diffgr="{DIFFGR}">'
        f'<NewDataSet xmlns="">{rows}</NewDataSet></diffgr:diffgram>'
    )


def service_error(message: str, reason: str, error: str) -> ClientFault:
    """The vendor's own SoapException: its MaLoi in the Fault's detail."""
    return ClientFault(
        message, reason=reason, detail=f'<LoiDichVu xmlns="{TNS}"><MaLoi>{error}</MaLoi></LoiDichVu>'
    )


def parameter(message: str, reason: str) -> ClientFault:
    return service_error(message, reason, PARAMETER_ERROR)


def date_time(el: etree._Element | None) -> datetime:
    """A DateTime member: DateTime.MinValue when absent, XmlConvert.ToDateTime (RoundtripKind) otherwise, as the
    server's local time (a zone-less value is local, a zoned one converted)."""
    if el is None:
        return MIN_VALUE
    value = el.text or ""
    shape = XML_DATETIME.match(value)
    invalid = unreadable(f"Chuỗi '{value}' không phải là giá trị AllXsd hợp lệ.")
    if shape is None:
        raise invalid
    year, month, day, hour, minute, second, fraction, zone = shape.groups()
    try:
        local = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:
        raise invalid from None
    local += timedelta(microseconds=round(float(fraction or 0) * 1_000_000))
    if zone is None:
        return local.replace(tzinfo=HCM)
    sign = 1 if zone[0] == "+" else -1
    offset = timedelta() if zone == "Z" else timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])) * sign
    try:
        return local.replace(tzinfo=timezone(offset)).astimezone(HCM)
    except (ValueError, OverflowError):  # a zone past ±14:00, or a time that leaves DateTime's range
        raise invalid from None


class Handler(AsmxService):
    server_version = "Microsoft-IIS/8.5"
    SERVICE_PATH, WSDL, TNS, OPERATION = SERVICE_PATH, WSDL, TNS, OPERATION  # the module's; no [SoapHeader]
    EXTRA = {
        "X-AspNet-Version": "4.0.30319",
        "X-Powered-By": "ASP.NET",
        "Cache-Control": "private, max-age=0",
    }

    def operate(self, version: str, request: etree._Element, headers: list[etree._Element]) -> None:
        args = members(request, TNS, ("tenDangNhap", "matKhau", "tuNgay", "denNgay", "trang", "soBanGhi"))
        # the serializer reads every parameter first: an unreadable one is a Fault before any code runs
        start, end = date_time(args.get("tuNgay")), date_time(args.get("denNgay"))
        page, size = integer(args.get("trang")), integer(args.get("soBanGhi"))
        if (text(args.get("tenDangNhap")), text(args.get("matKhau"))) != (USER, PASSWORD):
            raise service_error(REFUSAL, LOGIN_ERROR, LOGIN_ERROR)
        for label, value in (("tuNgay", start), ("denNgay", end)):
            if value == MIN_VALUE:
                raise parameter(f"Thiếu tham số bắt buộc: {label}", "missing")
        if start >= end:
            raise parameter("tuNgay phải nhỏ hơn denNgay", "window")
        if page < 1:
            raise parameter("Tham số trang phải lớn hơn hoặc bằng 1", "page")
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise parameter(f"Tham số soBanGhi phải từ 1 đến {MAX_PAGE_SIZE}", "size")
        found = sorted(
            (item for item in self.truth if start <= updated(item) < end),
            key=lambda item: (updated(item), int(item["source_record_id"])),
        )
        self.result(version, new_dataset(found[(page - 1) * size : page * size], len(found), page, size))


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
