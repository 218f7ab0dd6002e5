"""The WS-Security header of each SOAP message zeep builds (its `wsse` hook): a wsu:Timestamp first, made fresh
for the message (`ws_timestamp`: WCF's message security with IncludeTimestamp and the Strict layout refuses a
Security header without one, or with one after the token), then the UsernameToken (`ws_security`), its password
as text or, with `ws_password: digest`, as WSS's PasswordDigest."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from lxml import etree
from zeep import ns
from zeep.wsse import utils
from zeep.wsse.username import UsernameToken

LIFETIME = timedelta(minutes=5)  # WCF's and WSS4J's default: a message older than this is refused


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class SecurityHeader:
    """zeep's `wsse` plugin: applied to every message, so each gets its own Timestamp."""

    def __init__(
        self, login: str | None, password: str | None, *, token: bool, timestamp: bool, digest: bool = False
    ) -> None:
        # zeep's token makes a fresh Nonce and Created for each message it digests
        self.token = UsernameToken(login, password, use_digest=digest) if token else None
        self.timestamp = timestamp

    def apply(self, envelope: Any, headers: Any) -> tuple[Any, Any]:
        if self.timestamp:
            now = datetime.now(UTC)
            stamp = utils.WSU.Timestamp(utils.WSU.Created(_utc(now)), utils.WSU.Expires(_utc(now + LIFETIME)))
            stamp.set(etree.QName(ns.WSU, "Id"), f"TS-{uuid.uuid4()}")
            utils.get_security_header(envelope).insert(0, stamp)
        if self.token is not None:
            envelope, headers = self.token.apply(envelope, headers)
        return envelope, headers

    def verify(self, envelope: Any) -> None:
        """Answers are read by our own parser, not checked here (a data reader trusts the TLS channel)."""
