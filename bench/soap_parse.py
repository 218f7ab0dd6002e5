"""One SOAP answer of n records read two ways: lxml streaming (what the connector does) and zeep's object layer
(what a stock zeep client does). Used by `make bench` and by tests/connectors/test_soap.py."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import requests
from lxml import etree
from zeep.loader import parse_xml

from connectors.safexml import iter_elements
from connectors.soap import SoapSource
from mappings import element_to_dict


@dataclass
class SoapParse:
    records: int
    megabytes: float
    lxml_s: float
    zeep_s: float
    lxml_dicts: list[dict[str, Any]]
    zeep_records: list[Any]

    @property
    def ratio(self) -> float:
        return self.zeep_s / self.lxml_s


def compare(source: SoapSource, n: int, record_element: str = "HoSo") -> SoapParse:
    """Ask the district system for one page of n records (zeep builds the envelope), then parse it both ways."""
    svc = source.service()
    envelope = svc.client.create_message(svc.proxy, "LayDanhSachHoSo", Trang=1, SoBanGhi=n)
    resp = requests.post(
        svc.address,
        data=etree.tostring(envelope),
        headers={
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": f'"{svc.actions["LayDanhSachHoSo"]}"',
        },
        timeout=600,
    )
    resp.raise_for_status()
    body = resp.content

    started = time.perf_counter()
    dicts = [element_to_dict(el) for el in iter_elements(body, record_element, source.name)]
    lxml_s = time.perf_counter() - started

    operation = next(p for s in svc.client.wsdl.services.values() for p in s.ports.values()).binding.get(
        "LayDanhSachHoSo"
    )
    started = time.perf_counter()
    result = operation.process_reply(parse_xml(body, svc.client.transport, settings=svc.client.settings))
    zeep_s = time.perf_counter() - started
    return SoapParse(len(dicts), len(body) / 1e6, lxml_s, zeep_s, dicts, list(result.DanhSachHoSo.HoSo))
