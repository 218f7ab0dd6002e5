"""The health page's small SVG charts, drawn on the server (no script, nothing fetched).

Day labels stay whole inside the picture: one at an edge is anchored to that edge instead of centred on its bar,
and labels are spaced so that they do not run into each other, counting back from today's, which is always
shown. Numbers and words follow the console's language (onestop.console.i18n: 1.266 in Vietnamese).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from onestop.console.i18n import gettext as _
from onestop.console.i18n import number

LABEL_PX = 9  # font-size of svg.chart text.axis (static/onestop.css)
CHAR_PX = 0.6 * LABEL_PX  # a generous width per character of a dd/MM label at that size
LABEL_GAP = 4  # space kept between two labels
PAD_BOTTOM, PAD_TOP = 18, 14


def label_width(text: str) -> float:
    """An upper estimate of a label's width in px (the server cannot measure text)."""
    return len(text) * CHAR_PX


def labelled(series_len: int, step: float, bar: float, widest: float) -> set[int]:
    """The bars whose day is written: every one when they fit, else every k-th counting back from the last
    (today), so that two labels never overlap and today's is always there. A label anchored to an edge sits
    up to half its width less half a bar nearer its neighbour: that is kept free as well."""
    shift = max(widest / 2 - bar / 2, 0)
    every = max(1, math.ceil((widest + LABEL_GAP + shift) / step)) if step > 0 else series_len
    return {i for i in range(series_len) if (series_len - 1 - i) % every == 0}


def bar_chart(series: Sequence[tuple[str, int, int]], *, width: int = 560, height: int = 140) -> str:
    """A small SVG of (label, loaded, failed) per day: loaded bars with the failed on top."""
    if not series:
        return ""
    top = max((ok + bad for _day, ok, bad in series), default=0) or 1
    plot = height - PAD_BOTTOM - PAD_TOP
    step = width / len(series)
    bar = max(step * 0.7, 2)
    shown = labelled(len(series), step, bar, max(label_width(day) for day, _ok, _bad in series))
    said = escape(_("Loaded and failed by day"))
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img"'
        f' aria-label="{said}">',
        f'<text x="0" y="10" class="axis">{number(top)}</text>',
    ]
    for i, (label, ok, bad) in enumerate(series):
        x = i * step + (step - bar) / 2
        h_ok = plot * ok / top
        h_bad = plot * bad / top
        y_ok = PAD_TOP + plot - h_ok
        title = _(
            "%(day)s: %(loaded)s loaded, %(failed)s failed", day=label, loaded=number(ok), failed=number(bad)
        )
        parts.append(
            f'<rect class="ok" x="{x:.1f}" y="{y_ok:.1f}" width="{bar:.1f}" height="{h_ok:.1f}">'
            f"<title>{escape(title)}</title></rect>"
        )
        if bad:
            parts.append(
                f'<rect class="bad" x="{x:.1f}" y="{y_ok - h_bad:.1f}" width="{bar:.1f}" height="{h_bad:.1f}"/>'
            )
        if i in shown:
            parts.append(_label(label, x, bar, width, height))
    parts.append("</svg>")
    return "".join(parts)


def _label(text: str, x: float, bar: float, width: int, height: int) -> str:
    """Centred under its bar, or anchored to the picture's edge it would run over."""
    centre, half = x + bar / 2, label_width(text) / 2
    if centre - half < 0:
        at, anchor = max(x, 0.0), "start"
    elif centre + half > width:
        at, anchor = min(x + bar, float(width)), "end"
    else:
        at, anchor = centre, "middle"
    return f'<text class="axis" x="{at:.1f}" y="{height - 4}" text-anchor="{anchor}">{escape(text)}</text>'
