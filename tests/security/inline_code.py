"""What in a page the Content-Security-Policy would block: inline scripts, styles and event handlers."""

from __future__ import annotations

from html.parser import HTMLParser

# Data blocks are not run, so the CSP lets them be (json_script writes the dashboard's chart data this way).
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}


class _InlineCodeFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        line = self.getpos()[0]
        if tag == "script" and not values.get("src") and (values.get("type") or "").lower() not in DATA_SCRIPT_TYPES:
            self.found.append(f"line {line}: inline <script>")
        if tag == "style":
            self.found.append(f"line {line}: <style> element")
        for name, value in attrs:
            if name == "style":
                self.found.append(f"line {line}: style= attribute on <{tag}>")
            elif name.startswith("on"):
                self.found.append(f"line {line}: {name}= handler on <{tag}>")
            elif name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"line {line}: javascript: URL in {name}= on <{tag}>")


def inline_code_in(html: str) -> list[str]:
    """Every inline script, style element, style attribute, on* handler and javascript: URL, with its line."""
    finder = _InlineCodeFinder()
    finder.feed(html)
    finder.close()
    return finder.found
