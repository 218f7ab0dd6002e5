"""The SOAP and change-feed systems in the registry (their own connector languages).

No vendor's vocabulary is a default here: operation, parameter, element, path and header names are written in
the registry (config/sources.yaml profiles), so a system unlike ours is never read with our simulators' names.
"""

from __future__ import annotations

from pydantic import Field

from connectors.spec.auth import AuthSpec
from connectors.spec.common import Spec


class SoapSpec(Spec):
    """A SOAP (document/literal) district system: zeep builds the envelope from the served WSDL."""

    wsdl: str = Field(description="where the WSDL is served, relative to the connection's Base URL")
    operation: str = Field(description="the WSDL operation that lists dossiers")
    from_param: str = Field(description="the operation's parameter for the window's start")
    to_param: str = Field(description="... for the window's end")
    page_param: str = Field(description="... for the page number")
    size_param: str = Field(description="... for the page size")
    base_page: int = Field(default=1, description="the first page's number")
    page_size: int = Field(default=200, ge=1, le=5000)
    record_element: str = Field(description="local name of one record in the answer")
    total_element: str | None = Field(default=None, description="local name of the total count, if any")
    ws_security: bool = Field(default=True, description="WS-Security UsernameToken from the connection")


class FeedSpec(Spec):
    """A change feed (sector systems through the provincial integration platform): leased batches that come
    again unless acknowledged, deletions included."""

    fetch: str = Field(description="the fetch call's path")
    ack: str = Field(description="the acknowledgement call's path")
    batch_size: int = Field(default=200, ge=1, le=5000)
    max_batches: int = Field(default=10_000, ge=1)  # a run stops after this many batches (the rest waits)
    auth: AuthSpec = Field(description="credentials (e.g. api_key in a header)")
