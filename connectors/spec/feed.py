"""A change feed in the registry (sector systems on an integration platform, event hubs): leased batches that
come again unless acknowledged, deletions included. The fetch, acknowledge and peek calls are request
templates; the items are staged as served and their mapping recognizes deletions (`record.deleted`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from connectors.spec.auth import AuthSpec
from connectors.spec.common import Duration, Spec, check_path
from connectors.spec.request import RequestSpec
from connectors.spec.rest import DetailSpec, ErrorRule

FETCH_PLACEHOLDERS = frozenset({"batch_size", "lease", "after"})
ACK_PLACEHOLDERS = frozenset({"ack_ids", "batch_id", "last_ack_id"})


def _only(request: RequestSpec, allowed: frozenset[str], what: str) -> None:
    if unknown := request.names() - allowed:
        raise ValueError(f"{what} can use {sorted('{' + p + '}' for p in allowed)}, not {sorted(unknown)}")


class PeekSpec(Spec):
    request: RequestSpec = Field(
        description="a call that shows the next items without leasing them ({batch_size})"
    )
    items: str = Field(description="where its items are in the answer")

    @model_validator(mode="after")
    def _complete(self) -> PeekSpec:
        _only(self.request, frozenset({"batch_size"}), "peek.request")
        check_path(self.items, "items")
        return self


class PositionSpec(Spec):
    request: RequestSpec = Field(
        description="a call that says where this consumer stands (its last committed ack id); no placeholders"
    )
    path: str = Field(description="where the position is in its answer (null or absent: from the start)")

    @model_validator(mode="after")
    def _complete(self) -> PositionSpec:
        _only(self.request, frozenset(), "position.request")
        check_path(self.path, "path")
        return self


class FeedSpec(Spec):
    """Batches are fetched until the feed has nothing unleased left, `max_batches`, or half of the first lease has
    gone; each item is acknowledged once the load that holds it has committed (at-least-once; the merge makes
    it exactly-once)."""

    fetch: RequestSpec = Field(
        description="the fetch call: {batch_size}, {lease} (seconds) if it asks for one, and {after} for a feed "
        "that keeps no leases (an outbox read by sequence): the ack id of the last item fetched, at first the "
        "`position`"
    )
    items: str = Field(description="where the batch's items are in the fetch answer (an empty list: the end)")
    ack_id: str = Field(description="where an item's acknowledgement id is, in the item (`ack_id`, `offset`)")
    batch_id: str | None = Field(
        default=None, description="where the batch's id is in the fetch answer ({batch_id} in the ack call)"
    )
    lease: Duration | None = Field(default=None, description="the lease asked for ({lease}, in seconds)")
    lease_path: str | None = Field(
        default=None, description="where the fetch answer says how long the lease is (seconds), if it says"
    )
    ack: RequestSpec = Field(
        description="the acknowledgement call: {ack_ids} (a list, each id as the item carried it) and "
        "{batch_id}; or {last_ack_id}, the last of those ids in fetch order (a feed that commits an offset)"
    )
    position: PositionSpec | None = Field(
        default=None,
        description="fetch sends {after}: how to ask the feed where this consumer stands (its committed offset)",
    )
    ack_per: Literal["batch", "chunk"] = Field(
        default="chunk",
        description="batch: one ack call per fetched batch (with its {batch_id}); chunk: up to 1000 ids per call",
    )
    acked_path: str | None = Field(
        default=None,
        description="where the ack answer says how many it accepted (the rest come again); absent: all. An ack "
        "answered HTTP 409 (lease over, already acknowledged) counts as none accepted",
    )
    peek: PeekSpec | None = Field(
        default=None,
        description="how to look without leasing (`onestop source preview`, the Test button); without it a "
        "preview refuses, so that it never delays the real sync",
    )
    batch_size: int = Field(default=200, ge=1, le=5000, description="items asked per fetch ({batch_size})")
    max_batches: int = Field(
        default=10_000, ge=1, description="a run stops after this many batches (the rest waits)"
    )
    errors: list[ErrorRule] = Field(
        default=[], description="error envelopes in 2xx answers; the first match wins"
    )
    auth: AuthSpec = Field(
        default=AuthSpec(), description="credentials, from the source's Airflow connection"
    )
    detail: DetailSpec | None = Field(
        default=None,
        description="a call per item for its whole dossier (a feed of change events that name a dossier only); "
        "`skip` the deletion events",
    )

    @model_validator(mode="after")
    def _consistent(self) -> FeedSpec:
        _only(self.fetch, FETCH_PLACEHOLDERS, "fetch")
        if any(rule.status for rule in [*self.errors, *(self.detail.errors if self.detail else [])]):
            raise ValueError("errors[].status reads a REST source's HTTP error answers, not a feed's")
        _only(self.ack, ACK_PLACEHOLDERS, "ack")
        for name in ("items", "ack_id", "batch_id", "lease_path", "acked_path"):
            if (path := getattr(self, name)) is not None:
                check_path(path, name)
        if not {"ack_ids", "last_ack_id"} & self.ack.names():
            raise ValueError(
                "the ack call needs {ack_ids} or {last_ack_id} (in its path, json, form or query)"
            )
        if ("after" in self.fetch.names()) != (self.position is not None):
            raise ValueError(
                "a fetch that sends {after} needs `position` (where the feed says this consumer stands), "
                "and `position` needs a fetch that sends {after}"
            )
        if "lease" in self.fetch.names() and self.lease is None:
            raise ValueError("fetch sends {lease}: say how long (`lease: 5m`)")
        if self.ack_per == "batch" and not self.batch_id:
            raise ValueError("ack_per: batch needs `batch_id` (where the fetch answer names the batch)")
        if "batch_id" in self.ack.names() and not self.batch_id:
            raise ValueError("the ack call sends {batch_id}: say where the fetch answer has it (`batch_id`)")
        if self.detail is not None and "token" in self.detail.request.names() and self.auth.type != "login":
            raise ValueError("{token} is the token of a `login` auth; this feed's auth is " + self.auth.type)
        return self
