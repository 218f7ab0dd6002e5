"""The generated function trusts that the texts it screens are NFC and the engine checks them all at once, joined
(mappings.compiler): sound because a text that is not NFC makes any concatenation holding it not NFC."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st
from mapping_samples import SHIPPED, put
from test_hostile_text import FREE_TEXT

from mappings import get_mapping
from mappings.compiler import Ctx

# Letters, the combining marks of Vietnamese and others (several classes, in and out of canonical order), Hangul
# jamo that compose, characters NFC replaces (Å sign, Greek dialytika tonos), composition exclusions.
TRICKY = (
    "aeouAEx <=\u00e9\u1ec7\u00c5\u0300\u0301\u0302\u0303\u0306\u0309\u031b\u0323\u0327\u0315\u05ae\u0338"
)
TRICKY += (
    "\u0344\u212b\u1100\u1161\u11a8\uac00\u0958\u0915\u093c\u0f71\u0f72\u0f73\u0b47\u0b3e\u3099\u304b\u0345"
)
isnfc = unicodedata.is_normalized


@settings(max_examples=3000, derandomize=True, deadline=None)
@given(st.lists(st.text(alphabet=TRICKY, max_size=5), min_size=1, max_size=5))
def test_texts_are_all_nfc_when_their_concatenation_is(parts: list[str]) -> None:
    if isnfc("NFC", "".join(parts)):
        assert all(isnfc("NFC", p) for p in parts)


def test_the_trusting_and_the_careful_functions_agree_on_nfc_records_and_differ_only_by_the_nfc_fix() -> None:
    for dialect in SHIPPED:
        m = get_mapping(dialect)
        record = SHIPPED[dialect]()
        assert m._run(record, Ctx(record)) == m._careful(record, Ctx(record))
        put(m, record, FREE_TEXT[0], "Nguye\u0302\u0303n Va\u0306n An")  # decomposed
        trusting, careful = Ctx(record), Ctx(record)
        m._run(record, trusting)
        m._careful(record, careful)
        assert careful.fixes and isnfc("NFC", "".join(careful.texts)), dialect
        if dialect == "igate":  # a text read by one path, no transform: its NFC left to the engine
            assert not trusting.fixes and not isnfc("NFC", "".join(trusting.texts))
        outcome = m.canonical(record, "s")
        assert outcome.values["text_fixes"] and "Nguyễn Văn An" in outcome.json, dialect
