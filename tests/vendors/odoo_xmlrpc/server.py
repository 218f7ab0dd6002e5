"""The same Odoo 17 one-stop module as tests/vendors/odoo_jsonrpc, read through Odoo's XML-RPC endpoints, as
Odoo's external API documentation shows first (xmlrpc.client in Python, Ripcord in PHP).

Contract (XML-RPC, Content-Type text/xml):
  POST /xmlrpc/2/common   authenticate(db, login, password, {}) -> <int> uid, or <boolean>0</boolean> when refused
  POST /xmlrpc/2/object   execute_kw(db, uid, password, "motcua.ho_so", "web_search_read", [domain],
                          {specification, offset, limit, order}) -> a struct {length, records}, as the JSON-RPC
                          door answers it (many2one fields as structs, an empty field <boolean>0</boolean>)
  A failure is an XML-RPC fault: faultCode 3 "Access Denied" for a wrong uid or password, faultCode 1 with the
  exception's text otherwise (an ill-formed call: faultCode 1 too, as Odoo's dispatcher answers it).
"""

from __future__ import annotations

import xmlrpc.client

from tests.vendors.common import VendorHandler, arguments, serve
from tests.vendors.odoo_jsonrpc.server import DB, PASSWORD, UID, USER, OdooError, execute_kw

VENDOR = "odoo_xmlrpc"
REFUSAL = "<boolean>0</boolean>"  # authenticate's whole answer to a wrong password
ACCESS_DENIED = 3  # odoo.service.wsgi_server.RPC_FAULT_CODE_ACCESS_DENIED


class Handler(VendorHandler):
    def xml(self, body: str) -> None:
        self.send_body(200, body.encode(), "text/xml; charset=utf-8")

    def fault(self, code: int, text: str) -> None:
        body = xmlrpc.client.dumps(xmlrpc.client.Fault(code, text), methodresponse=True)
        self.refuse(200, f"fault {code}", lambda: self.xml(body))

    def vendor(self, method: str) -> None:
        if method != "POST" or self.route not in ("/xmlrpc/2/common", "/xmlrpc/2/object"):
            self.send_body(404, b"<!DOCTYPE html><title>404: Not Found</title>", "text/html")
            return
        try:
            params, name = xmlrpc.client.loads(self.raw_body)
        except Exception as exc:  # the request is ours: a test would show what it sent
            self.fault(1, f"ExpatError: {exc}")
            return
        if self.route == "/xmlrpc/2/common" and name in ("authenticate", "login"):
            accepted = params[:3] == (DB, USER, PASSWORD)
            answer = UID if accepted else False
            send = lambda: self.xml(xmlrpc.client.dumps((answer,), methodresponse=True))  # noqa: E731
            send() if accepted else self.refuse(200, "authenticate", send)
        elif self.route == "/xmlrpc/2/object" and name == "execute_kw":
            try:
                result = execute_kw(self.truth, list(params))
            except OdooError as exc:
                code = ACCESS_DENIED if exc.name.endswith("AccessDenied") else 1
                self.fault(code, exc.message)
                return
            self.xml(xmlrpc.client.dumps((result,), methodresponse=True, allow_none=True))
        else:
            self.fault(1, f'Method "{name}" is not supported')


if __name__ == "__main__":
    serve(VENDOR, Handler, arguments(__doc__.splitlines()[0]))
