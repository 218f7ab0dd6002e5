"""The health page's SVG chart: whole labels inside the picture, today's bar labelled, Vietnamese numbers."""

from __future__ import annotations

import re
from datetime import date, timedelta
from itertools import pairwise

import pytest
from lxml import etree

from onestop.console import chart

SVG = "{http://www.w3.org/2000/svg}"
TODAY = date(2026, 12, 3)


def days(n: int, loaded: int = 1266, failed: int = 3) -> list[tuple[str, int, int]]:
    return [((TODAY - timedelta(days=n - 1 - i)).strftime("%d/%m"), loaded + i, failed) for i in range(n)]


def parse(svg: str) -> etree._Element:
    return etree.fromstring(svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))


def extent(text: etree._Element) -> tuple[float, float]:
    """Where a label's text lies horizontally, by its anchor and the chart's own width estimate."""
    x, w = float(text.get("x")), chart.label_width(text.text)
    return {"start": (x, x + w), "middle": (x - w / 2, x + w / 2), "end": (x - w, x)}[text.get("text-anchor")]


@pytest.mark.parametrize(
    ("n", "width", "height"),
    [(14, 560, 140), (14, 280, 70), (7, 280, 70), (7, 100, 70), (30, 560, 140), (60, 280, 70)],
)
def test_labels_lie_whole_inside_the_picture_without_overlap_and_today_is_labelled(n, width, height) -> None:
    series = days(n)
    root = parse(chart.bar_chart(series, width=width, height=height))
    assert root.get("viewBox") == f"0 0 {width} {height}"
    labels = [t for t in root.iter(f"{SVG}text") if t.get("text-anchor")]
    spans = [extent(t) for t in labels]
    assert spans[0][0] >= 0 and spans[-1][1] <= width  # the first and the last label inside the viewBox
    assert all(a >= 0 and b <= width for a, b in spans)
    assert all(b + chart.LABEL_GAP <= a2 for (_, b), (a2, _) in pairwise(spans))
    assert labels[-1].text == TODAY.strftime("%d/%m")  # today's bar has its label
    if width / n >= chart.label_width("03/12") + chart.LABEL_GAP:
        assert [t.text for t in labels] == [label for label, _, _ in series]  # every day when they fit


def test_a_label_at_the_left_edge_is_anchored_to_it_not_centred_over_it() -> None:
    """7 days in a source's small chart: the first bar's centre is nearer the edge than half its label."""
    first = next(
        t
        for t in parse(chart.bar_chart(days(7), width=100, height=70)).iter(f"{SVG}text")
        if t.get("text-anchor")
    )
    assert first.text == (TODAY - timedelta(days=6)).strftime("%d/%m")
    assert first.get("text-anchor") == "start" and float(first.get("x")) >= 0


def test_numbers_use_dots_between_thousands_and_titles_keep_their_words() -> None:
    root = parse(chart.bar_chart(days(2, loaded=1266, failed=1500)))
    top = next(t for t in root.iter(f"{SVG}text") if not t.get("text-anchor"))
    assert top.text == "2.767"  # 1.267 + 1.500
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert titles == ["02/12: 1.266 đã nạp, 1.500 lỗi", "03/12: 1.267 đã nạp, 1.500 lỗi"]
    assert root.get("aria-label") == "Đã nạp và lỗi theo ngày"
    assert chart.number(1234567) == "1.234.567"
    assert not re.search(r"\d,\d", chart.bar_chart(days(14)))


def test_no_days_no_chart_and_an_empty_fortnight_still_draws() -> None:
    assert chart.bar_chart([]) == ""
    root = parse(chart.bar_chart([(label, 0, 0) for label, _, _ in days(14)]))
    assert next(t for t in root.iter(f"{SVG}text")).text == "1"
