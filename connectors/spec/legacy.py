"""The SOAP and change-feed systems in the registry (their own connector languages).

No vendor's vocabulary is a default here: operation, parameter, element, path and header names are written in
the registry (config/sources.yaml profiles), so a system unlike ours is never read with our simulators' names.
"""

from __future__ import annotations

from pydantic import Field

from connectors.spec.auth import AuthSpec
from connectors.spec.common import Spec


class FeedSpec(Spec):
    """A change feed (sector systems through the provincial integration platform): leased batches that come
    again unless acknowledged, deletions included."""

    fetch: str = Field(description="the fetch call's path")
    ack: str = Field(description="the acknowledgement call's path")
    batch_size: int = Field(default=200, ge=1, le=5000)
    max_batches: int = Field(default=10_000, ge=1)  # a run stops after this many batches (the rest waits)
    auth: AuthSpec = Field(description="credentials (e.g. api_key in a header)")
