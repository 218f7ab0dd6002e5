"""A classic ASP.NET 2.0 ASMX web service (IIS, .NET Framework 2.0, vi-VN culture): one [WebMethod] that returns a
`string` holding an ASP.NET DataSet written as XML, credentials in a [SoapHeader] on every call.

Contract (what the vendor's integration guide says, and what this server enforces):
  GET  /DichVuHoSo.asmx?WSDL      the WSDL as ASMX generates it: targetNamespace http://tempuri.org/,
                                  document/literal, a SOAP 1.1 port (DichVuHoSoSoap) and a SOAP 1.2 port
                                  (DichVuHoSoSoap12) on the same address, the result typed s:string
  POST /DichVuHoSo.asmx           SOAP 1.1: Content-Type text/xml; charset=utf-8,
                                            SOAPAction "http://tempuri.org/LayDanhSachHoSo"
                                  SOAP 1.2: Content-Type application/soap+xml; charset=utf-8;
                                            action="http://tempuri.org/LayDanhSachHoSo"
    Header: <XacThuc><TenDangNhap/><MatKhau/></XacThuc>   (a SoapHeader class: element XacThuc, its children
            qualified in http://tempuri.org/; a header the service does not know with mustUnderstand is a Fault)
    Body:   <LayDanhSachHoSo><tuNgay/><denNgay/><trang/><soDong/></LayDanhSachHoSo>   (in http://tempuri.org/)
      tuNgay, denNgay  strings "dd/MM/yyyy HH:mm:ss", local time (Asia/Ho_Chi_Minh) without a zone; the window is
                       half-open [tuNgay, denNgay) on the dossier's update time (NgayCapNhat); both required
      trang            int, 1-based;  soDong  int, 1..100.  Rows ordered by (NgayCapNhat, HoSoID).
    -> <LayDanhSachHoSoResponse><LayDanhSachHoSoResult>…</LayDanhSachHoSoResult></LayDanhSachHoSoResponse>
  The result is a string: DataSet.WriteXml(StringWriter), so it begins `<?xml version="1.0" encoding="utf-16"?>`
  (the StringWriter's encoding, although the envelope is UTF-8), lines end in CR LF, two-space indentation, and
  the whole text is XML-escaped inside LayDanhSachHoSoResult (&lt;NewDataSet&gt; …) as the serializer writes it:
    <NewDataSet>
      <HoSo> flat columns (HoSoID, MaHoSo, MaThuTuc, …, NgayCapNhat), a DBNull column left out, then its nested
             child rows (DataRelation.Nested): <QuaTrinhXuLy>…</QuaTrinhXuLy>* <LePhi>…</LePhi>* <GiayTo>…</GiayTo>*,
             each repeating the foreign key HoSoID
      </HoSo>*
      <PhanTrang><TongSoBanGhi/><Trang/><SoDong/></PhanTrang>   (one row: the window's total)
    </NewDataSet>
  DateTime columns are written as the DataSet writes a column of DateTimeMode UnspecifiedLocal: local time WITH the
  server's offset, "2025-03-04T08:15:00+07:00" (NgaySinh too: a date at midnight); money columns as SQL Server
  money, "100000.0000"; codes as the vendor's own integers (TrangThai, KenhNop) and texts (LoaiChuHoSo).
  Wrong or missing credentials are not a Fault: HTTP 200, and the result holds
    <NewDataSet><Loi><Ma>DANG_NHAP</Ma><ThongBao>REFUSAL</ThongBao></Loi></NewDataSet>   (counted as a refusal)
  A malformed request is a SOAP Fault, HTTP 500, faultcode soap:Client (SOAP 1.2: soap:Sender), in the words of
  the vendor's code or of the Vietnamese .NET language pack: a SOAPAction that is not the operation's, a body
  that is not LayDanhSachHoSo, a trang/soDong that is not an int, XML that is not well-formed or carries a DTD,
  a missing tuNgay/denNgay (an unqualified element is one XmlSerializer does not see: missing), a date not in
  dd/MM/yyyy HH:mm:ss, tuNgay not before denNgay, trang < 1 (a missing int is 0), soDong outside 1..100; an
  envelope of the other SOAP version is soap:VersionMismatch, an unknown mustUnderstand header
  soap:MustUnderstand. Another media type, GET without ?WSDL (the help page is removed in web.config) and the
  HttpGet/HttpPost protocols are "request format" errors (HTTP 500, text); another path is IIS's 404.
  Every refusal is counted. No sessions: --revoke-at has no effect.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from string import Template
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree

from schemas.dossier import HCM
from tests.vendors.asmx import AsmxService, ClientFault, integer, members, text
from tests.vendors.common import arguments, parse_local, serve, updated

VENDOR = "asmx_dataset"
SERVICE_PATH = "/DichVuHoSo.asmx"
TNS = "http://tempuri.org/"
OPERATION = "LayDanhSachHoSo"
ACTION = f"{TNS}{OPERATION}"

USER, PASSWORD = "lienthong_kinhmon", "KM#HoSo@2025"
REFUSAL = "Tên đăng nhập hoặc mật khẩu không đúng"
LOGIN_ERROR = "DANG_NHAP"
MAX_PAGE_SIZE = 100
WINDOW_FORMAT = "dd/MM/yyyy HH:mm:ss"
WINDOW = "%d/%m/%Y %H:%M:%S"
WINDOW_SHAPE = re.compile(r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}$")  # DateTime.ParseExact: exactly this
CRLF = "\r\n"

# the vendor's own codes (its DM_TrangThai and DM_KenhNop tables)
STATUS = {1: 0, 2: 1, 3: 2, 4: 3, 5: 4, 6: 5, 7: 6, 8: 7, 9: 8, 10: 9}
STATUS_NAME = {0: "Mới đăng ký", 1: "Đã tiếp nhận", 2: "Không tiếp nhận", 3: "Đang xử lý", 4: "Yêu cầu bổ sung",
               5: "Chờ thực hiện nghĩa vụ tài chính", 6: "Công dân rút hồ sơ", 7: "Dừng xử lý",
               8: "Đã có kết quả", 9: "Đã trả kết quả"}  # fmt: skip
CHANNEL = {1: 0, 2: 1, 3: 2}  # 0 trực tiếp, 1 trực tuyến, 2 bưu chính công ích
APPLICANT = {1: "CN", 2: "TC"}  # cá nhân, tổ chức

WSDL = Template((Path(__file__).resolve().parent / "DichVuHoSo.wsdl").read_text(encoding="utf-8"))


def dataset_time(iso: str | None) -> str | None:
    """A truth time as a DataSet writes a DateTime column (DateTimeMode UnspecifiedLocal): local, +07:00."""
    return None if iso is None else datetime.fromisoformat(iso).astimezone(HCM).isoformat()


def money(amount: int) -> str:
    return f"{amount}.0000"  # SQL Server money, as the DataSet writes a decimal column read from it


def columns(indent: int, values: dict[str, Any]) -> list[str]:
    """One row's columns as DataSet.WriteXml writes them: one element per line, a DBNull column left out."""
    pad = "  " * indent
    return [
        f"{pad}<{name}>{escape(str(value))}</{name}>" for name, value in values.items() if value is not None
    ]


def row(indent: int, table: str, values: dict[str, Any], children: list[str] | None = None) -> list[str]:
    pad = "  " * indent
    return [f"{pad}<{table}>", *columns(indent + 1, values), *(children or []), f"{pad}</{table}>"]


def render(item: dict[str, Any]) -> list[str]:
    """One HoSo row with its nested child rows (QuaTrinhXuLy, LePhi, GiayTo), as lines at depth 1."""
    rid = item["source_record_id"]
    a = item["applicant"]
    birth = a.get("birth_date")
    children: list[str] = []
    for number, h in enumerate(item["history"], 1):
        children += row(
            2,
            "QuaTrinhXuLy",
            {
                "HoSoID": rid,
                "STT": number,
                "TrangThai": STATUS[h["status"]],
                "ThoiGian": dataset_time(h["at"]),
                "NguoiXuLy": h["actor"],
                "NoiDung": h["content"],
            },
        )
    for f in item["fees"]:
        children += row(
            2,
            "LePhi",
            {"HoSoID": rid, "MaPhi": f["code"], "TenPhi": f["name"], "SoTien": money(f["amount_vnd"])},
        )
    for d in item["documents"]:
        children += row(2, "GiayTo", {"HoSoID": rid, "TenGiayTo": d["name"], "MaMauDon": d["form_code"]})
    return row(
        1,
        "HoSo",
        {
            "HoSoID": rid,
            "MaHoSo": item["ma_ho_so"],
            "MaThuTuc": f"{item['procedure_code']}.000.00.00.H23",  # the province's local procedure code
            "TenThuTuc": item["procedure_name"],
            "MaLinhVuc": item["field_code"],
            "TenLinhVuc": item["field_name"],
            "MaDonVi": item["agency_code"],
            "TenDonVi": item["agency_name"],
            "KenhNop": CHANNEL[item["channel"]],
            "TrangThai": STATUS[item["status"]],
            "TenTrangThai": STATUS_NAME[STATUS[item["status"]]],
            "TrichYeu": item["summary"],
            "LoaiChuHoSo": APPLICANT[a["type"]],
            "ChuHoSo": a["name"],
            "LoaiGiayTo": "CCCD" if a.get("id_type") == 1 else None,
            "SoGiayTo": a["id_number"],
            "SoDienThoai": a["phone"],
            "Email": a.get("email"),
            "NgaySinh": None if birth is None else f"{birth}T00:00:00+07:00",
            "DiaChi": a["address"],
            "NgayNop": dataset_time(item.get("submitted_at")),
            "NgayTiepNhan": dataset_time(item["received_at"]),
            "NgayHenTra": dataset_time(item["due_at"]),
            "NgayCoKetQua": dataset_time(item.get("finished_at")),
            "NgayTraKetQua": dataset_time(item.get("returned_at")),
            "NgayCapNhat": dataset_time(item["source_updated_at"]),
        },
        children,
    )


def dataset(lines: list[str]) -> str:
    """DataSet.WriteXml(new StringWriter()): the StringWriter's utf-16 declaration, CR LF, two-space indents."""
    body = ["<NewDataSet>", *lines, "</NewDataSet>"] if lines else ["<NewDataSet />"]
    return CRLF.join(['<?xml version="1.0" encoding="utf-16"?>', *body])


def login_error() -> str:
    return dataset(row(1, "Loi", {"Ma": LOGIN_ERROR, "ThongBao": REFUSAL}))


def window_time(name: str, value: str | None) -> datetime:
    if value is None or not value.strip():
        raise ClientFault(f"Thiếu tham số bắt buộc: {name}", reason="missing")
    if not WINDOW_SHAPE.match(value):
        raise ClientFault(f"Giá trị {name} '{value}' không đúng định dạng {WINDOW_FORMAT}", reason="date")
    try:
        return parse_local(value, WINDOW)
    except ValueError:
        raise ClientFault(f"Giá trị {name} '{value}' không phải ngày giờ hợp lệ", reason="date") from None


class Handler(AsmxService):
    server_version = "Microsoft-IIS/7.5"
    SERVICE_PATH, WSDL, TNS, OPERATION = SERVICE_PATH, WSDL, TNS, OPERATION  # the module's
    HEADERS = (f"{{{TNS}}}XacThuc",)
    EXTRA = {
        "X-AspNet-Version": "2.0.50727",
        "X-Powered-By": "ASP.NET",
        "Cache-Control": "private, max-age=0",
    }

    def answer(self, version: str, value: str) -> None:
        """The method's string, escaped as the serializer writes a string (&, <, > as entities; CR LF as is)."""
        self.result(version, escape(value))

    def operate(self, version: str, request: etree._Element, headers: list[etree._Element]) -> None:
        args = members(request, TNS, ("tuNgay", "denNgay", "trang", "soDong"))
        page, size = (
            integer(args.get("trang")),
            integer(args.get("soDong")),
        )  # the serializer reads them first
        auth = next((h for h in headers if h.tag == f"{{{TNS}}}XacThuc"), None)
        credentials = members(auth, TNS, ("TenDangNhap", "MatKhau")) if auth is not None else {}
        if (text(credentials.get("TenDangNhap")), text(credentials.get("MatKhau"))) != (USER, PASSWORD):
            self.refuse(200, LOGIN_ERROR, lambda: self.answer(version, login_error()))
            return
        start = window_time("tuNgay", text(args.get("tuNgay")))
        end = window_time("denNgay", text(args.get("denNgay")))
        if start >= end:
            raise ClientFault("tuNgay phải nhỏ hơn denNgay", reason="window")
        if page < 1:
            raise ClientFault("Tham số trang phải lớn hơn hoặc bằng 1", reason="page")
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise ClientFault(f"Tham số soDong phải từ 1 đến {MAX_PAGE_SIZE}", reason="size")
        found = sorted(
            (item for item in self.truth if start <= updated(item) < end),
            key=lambda item: (updated(item), int(item["source_record_id"])),
        )
        lines = [line for item in found[(page - 1) * size : page * size] for line in render(item)]
        lines += row(1, "PhanTrang", {"TongSoBanGhi": len(found), "Trang": page, "SoDong": size})
        self.answer(version, dataset(lines))


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
