"""How the compiled mapping reports a record's failing fields once each: a field that holds one already reported
(or sits inside it) is not reported again, found by set lookups along its lineage, in linear time."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mappings.compiler import _lineage

NAMES = st.sampled_from(["history", "applicant", "fees", "at", "name", "id_number", "a", "ab"])
FIELDS = st.builds(
    lambda steps: "".join(
        (f"[{s}]" if isinstance(s, int) else (f".{s}" if k else s)) for k, s in enumerate(steps)
    ),
    st.lists(NAMES | st.integers(0, 12), min_size=1, max_size=5).filter(lambda s: isinstance(s[0], str)),
)


def overlaps(a: str, b: str) -> bool:
    """The rule as written before: the same field, or one inside the other."""
    return a == b or a.startswith((b + ".", b + "[")) or b.startswith((a + ".", a + "["))


def test_a_field_s_lineage_is_itself_and_what_holds_it() -> None:
    assert _lineage("history[3].at") == ["history[3].at", "history[3]", "history"]
    assert _lineage("applicant.id_number") == ["applicant.id_number", "applicant"]
    assert _lineage("(record)") == ["(record)"]


@settings(max_examples=400, derandomize=True, deadline=None)
@given(a=FIELDS, b=FIELDS)
def test_two_fields_overlap_when_one_is_in_the_other_s_lineage(a: str, b: str) -> None:
    assert (a in _lineage(b) or b in _lineage(a)) == overlaps(a, b)
