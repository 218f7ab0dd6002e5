"""XML records as dicts, so one path language serves JSON and XML (see mappings.spec).

element_to_dict(<HoSo id="7"><MaHoSo>X</MaHoSo><TepTin>a</TepTin><TepTin>b</TepTin></HoSo>)
  -> {"@id": "7", "MaHoSo": "X", "TepTin": ["a", "b"]}
Namespaces are dropped (local names only); a repeated child becomes a list (a single one stays a dict or a
string: `each` treats a dict as a one-element list); an empty leaf is None, as is an element marked
xsi:nil="true" or, in OData's Atom (WCF Data Services, SharePoint's ListData.svc, SAP Gateway), m:null="true";
attributes are "@name" keys (but xsi:type, OData's m:type and m:etag, and SOAP encoding's, which are not
data); the text of an element that also has attributes or children is "#text". Comments and processing
instructions are skipped. Parse untrusted XML with a parser that resolves no entities and loads no DTD
(connectors do); this module only reads an element tree.
"""

from __future__ import annotations

from typing import Any

# A null element: XML Schema's xsi:nil, and OData's m:null in its Atom format (v1-v3's namespace, and v4's).
_ODATA_METADATA = (
    "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata",
    "http://docs.oasis-open.org/odata/ns/metadata",
)
_NILS = frozenset(
    ("{http://www.w3.org/2001/XMLSchema-instance}nil", *(f"{{{ns}}}null" for ns in _ODATA_METADATA))
)
_TRUE = ("true", "1")
# Attributes that are SOAP's, XML Schema's and .NET DataSets' machinery, not the record's data: xsi:type on every
# element (Apache Axis), soapenc:arrayType, soapenv:encodingStyle, a DataSet row's diffgr:id and msdata:rowOrder.
# Kept, a leaf `<id xsi:type="xsd:long">5</id>` would be a dict; so would OData's `<d:Id m:type="Edm.Int32">5</d:Id>`.
_MACHINERY = frozenset({
    "http://www.w3.org/2001/XMLSchema-instance",
    "http://schemas.xmlsoap.org/soap/encoding/",
    "http://schemas.xmlsoap.org/soap/envelope/",
    "http://www.w3.org/2003/05/soap-encoding",
    "http://www.w3.org/2003/05/soap-envelope",
    "urn:schemas-microsoft-com:xml-diffgram-v1",
    "urn:schemas-microsoft-com:xml-msdata",
    # OData's: m:type="Edm.DateTime" on a property, m:etag on an entry
    *_ODATA_METADATA,
})  # fmt: skip


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if tag[:1] == "{" else tag


def _value(el: Any) -> Any:
    attributes: list[tuple[str, str]] = []
    for name, value in el.attrib.items():
        if name[:1] == "{" and name[1 : name.find("}")] in _MACHINERY:
            if name in _NILS and value in _TRUE:
                return None
            continue
        attributes.append((name, value))
    children = [c for c in el if isinstance(c.tag, str)]  # skip comments / processing instructions
    text = el.text
    if text is not None and not text.strip():
        text = None
    if not children and not attributes:
        return text
    out: dict[str, Any] = {}
    for name, value in attributes:
        out["@" + _local(name)] = value
    repeated: set[str] = set()  # keys already turned into lists (a single child's value may itself be a list)
    for child in children:
        key = _local(child.tag)
        value = _value(child)
        if key in repeated:
            out[key].append(value)
        elif key in out:
            out[key] = [out[key], value]
            repeated.add(key)
        else:
            out[key] = value
    if text is not None:
        out["#text"] = text
    return out


def element_to_dict(el: Any) -> dict[str, Any]:
    """The content of one lxml element (typically one record) as a dict.

    A leaf element with only text gives {"#text": text}, so the result is always a dict.
    """
    value = _value(el)
    if isinstance(value, dict):
        return value
    return {"#text": value}
