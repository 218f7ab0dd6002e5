"""The PHP vendor's contract: a form-encoded POST with a bearer token; a refused token is an AUTH_FAILED envelope
inside HTTP 200 (so only the registry's `errors` rule can tell it from an empty page), a malformed call is 400."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs

import psycopg
import pytest
import requests

from onestop import pipeline
from tests.vendors import harness
from tests.vendors.form_post.server import FIELDS, REFUSAL, ROUTE, TOKEN


@pytest.fixture(scope="module")
def vendor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[harness.Vendor]:
    with harness.started("form_post", tmp_path_factory.mktemp("form_post-envelope")) as running:
        yield running


FORM = {"tu_ngay": 1735664400, "den_ngay": 1767200400, "trang": 1, "so_dong": 80}


def post(vendor: harness.Vendor, token: str = TOKEN, **kwargs: object) -> requests.Response:
    return requests.post(
        f"{vendor.server.url}{ROUTE}", headers={"Authorization": f"Bearer {token}"}, timeout=10, **kwargs
    )


def test_a_refused_token_is_an_envelope_in_http_200(vendor: harness.Vendor) -> None:
    answer = post(vendor, "hdgl.revoked", data=FORM)
    assert answer.status_code == 200
    assert answer.json() == {"status": "error", "code": "AUTH_FAILED", "msg": REFUSAL}


def test_a_json_body_or_an_unknown_field_is_a_400(vendor: harness.Vendor) -> None:
    refused = vendor.stats()["refused"]
    assert post(vendor, json=FORM).json()["code"] == "INVALID_REQUEST"
    assert post(vendor, data={**FORM, "page": 1}).json()["code"] == "INVALID_PARAM"
    assert post(vendor, data={**FORM, "so_dong": 500}).status_code == 400
    assert vendor.stats()["refused"] == refused + 3


def test_the_sync_posts_the_window_and_the_page_as_a_form(
    vendor: harness.Vendor, db: psycopg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    harness.configure(vendor, monkeypatch)
    before = len(vendor.stats()["requests"])

    pipeline.sync(vendor.source)

    asked = vendor.stats()["requests"][before:]
    forms = [{k: v[0] for k, v in parse_qs(r["body"]).items()} for r in asked]
    assert all(r["method"] == "POST" and not r["query"] for r in asked)
    assert all(r["headers"]["Content-Type"].startswith("application/x-www-form-urlencoded") for r in asked)
    assert [set(f) for f in forms] == [set(FIELDS)] * len(forms)
    assert [f["trang"] for f in forms] == [str(n) for n in range(1, len(forms) + 1)]
    assert all(f["tu_ngay"].isdigit() and f["den_ngay"].isdigit() for f in forms)  # epoch seconds
