"""A web application's login form read as its browser reads it: the hidden CSRF input it must post back, whether
an answer is that page (a session that ended, credentials refused), and what the page says to its user."""

from __future__ import annotations

from html.parser import HTMLParser

from schemas.personal_data import answer_text

# Where a page tells its user what went wrong: Bootstrap's alerts (Laravel, most PHP apps), Django's errorlist,
# validation feedback, ASP.NET's validation summary; or an element with role="alert".
_SAYING = ("alert", "error", "errorlist", "invalid-feedback", "help-block", "validation-summary-errors")
_SKIPPED = frozenset({"script", "style", "head", "title", "noscript"})
_VOID = frozenset(
    {"input", "br", "hr", "img", "meta", "link", "area", "base", "col", "embed", "source", "wbr"}
)


class _Page(HTMLParser):
    def __init__(self, field: str) -> None:
        super().__init__(convert_charrefs=True)
        self.field, self.token = field, None
        self.has_field = False
        self.text: list[str] = []  # everything a user sees
        self.said: list[str] = []  # what the page's alerts and error lists say
        self._open: list[tuple[str, bool, bool]] = []  # (tag, skipped, saying)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "input" and found.get("name") == self.field:
            self.has_field = True
            if self.token is None and found.get("value"):
                self.token = found["value"]
        if tag in _VOID:
            return
        classes = found.get("class", "").split()
        saying = found.get("role") == "alert" or any(c in _SAYING for c in classes)
        self._open.append((tag, tag in _SKIPPED, saying))

    def handle_endtag(self, tag: str) -> None:
        for at in range(len(self._open) - 1, -1, -1):
            if self._open[at][0] == tag:
                del self._open[at:]
                return

    def handle_data(self, data: str) -> None:
        words = " ".join(data.split())
        if not words or any(skipped for _, skipped, _ in self._open):
            return
        self.text.append(words)
        if any(saying for _, _, saying in self._open):
            self.said.append(words)


def read_page(body: bytes, field: str, charset: str | None = None) -> _Page:
    page = _Page(field)
    page.feed(answer_text(body, charset))
    page.close()
    return page


def looks_html(body: bytes, content_type: str | None) -> bool:
    """An HTML page, by its media type or its first bytes (PHP sends text/html unless told otherwise)."""
    if "html" in (content_type or "").lower():
        return True
    start = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return start.startswith((b"<!doctype html", b"<html")) or b"<body" in start


def hidden_value(body: bytes, field: str, charset: str | None = None) -> str | None:
    """The value of the form's input named `field` (`_token`, `csrfmiddlewaretoken`), None when it has none."""
    return read_page(body, field, charset).token


def holds_field(body: bytes, field: str, charset: str | None = None) -> bool:
    return read_page(body, field, charset).has_field


def page_says(body: bytes, charset: str | None = None) -> str:
    """What the page tells its user: its alerts and error lists, or else all of its visible text."""
    page = read_page(body, "", charset)
    return " ".join(page.said or page.text)
