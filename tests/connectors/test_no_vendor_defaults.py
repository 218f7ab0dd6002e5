"""The connectors carry no vendor's vocabulary: every path, parameter, element and header name a system uses is
written in the registry, so a system unlike our simulators is never asked with our simulators' names."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import typing

import pytest
from pydantic import BaseModel

import connectors.spec
from tests.conftest import ROOT

# Names our simulators' APIs use (onestop/simulators): request parameters, paths, elements, headers.
SIMULATOR_NAMES = {
    "updatedFrom", "updatedTo", "content", "/api/v1/dossiers", "/oauth/token", "size",  # iGate REST
    "LayDanhSachHoSo", "TuNgay", "DenNgay", "Trang", "SoBanGhi", "TongSo", "HoSo", "/soap?wsdl",  # SOAP
    "currPage", "pageSize", "lastPage", "TotalCount", "ErrorCode", "ErrorMessage", "tuNgay", "denNgay",  # XML
    "/DichVu/DanhSachHoSo.aspx", "/feed/fetch", "/feed/ack", "X-API-Key",  # legacy XML, feed
    "events", "acked", "lease_seconds", "occurredAt", "_op", "_occurredAt", "upsert",  # the feed's answers
}  # fmt: skip


def spec_models() -> list[type[BaseModel]]:
    found = []
    for info in pkgutil.iter_modules(connectors.spec.__path__):
        module = importlib.import_module(f"connectors.spec.{info.name}")
        found += [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, BaseModel)]
    return sorted(set(found), key=lambda m: m.__name__)


def _names_in(value: object) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, BaseModel):
        return set().union(*(_names_in(v) for v in value.model_dump().values()))
    if isinstance(value, list | tuple | set):
        return set().union(*(_names_in(v) for v in value))
    if isinstance(value, dict):
        return set().union(*(_names_in(k) | _names_in(v) for k, v in value.items()))
    return set()


@pytest.mark.parametrize("model", spec_models(), ids=lambda m: m.__name__)
def test_no_spec_default_is_a_name_from_a_vendor_s_api(model: type[BaseModel]) -> None:
    for name, field in model.model_fields.items():
        if typing.get_origin(field.annotation) is typing.Literal or field.is_required():
            continue  # the language's own words (GET, page_number, …), or the registry must say it
        default = field.get_default(call_default_factory=True)
        assert not (_names_in(default) & SIMULATOR_NAMES), f"{model.__name__}.{name} defaults to {default!r}"


def test_the_connector_code_names_no_simulator_field() -> None:
    """Every kind: REST, legacy XML, SOAP and change feeds."""
    for path in [
        ROOT / "connectors" / n
        for n in (
            "rest.py",
            "paging.py",
            "soap.py",
            "feed.py",
            "safexml.py",
            "auth.py",
            "templates.py",
            "http.py",
            "factory.py",
        )
    ]:
        literals = {
            node.value
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
        }
        assert not literals & SIMULATOR_NAMES, f"{path.name}: {sorted(literals & SIMULATOR_NAMES)}"
