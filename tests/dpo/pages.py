"""Reading the DPO pages in tests: their tables, links and forms."""

from __future__ import annotations

from html.parser import HTMLParser


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict[str, object]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._captions: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append({"caption": "", "rows": [], "class": dict(attrs).get("class")})
        elif tag == "caption":
            self._captions = []
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "caption" and self._captions is not None:
            self.tables[-1]["caption"] = " ".join("".join(self._captions).split())
            self._captions = None
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            rows = self.tables[-1]["rows"]
            assert isinstance(rows, list)
            rows.append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._captions is not None:
            self._captions.append(data)
        elif self._cell is not None:
            self._cell.append(data)


def tables(html: str) -> list[dict[str, object]]:
    """Every table of the page: its caption, class and rows of cell texts (header row too)."""
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def table(html: str, caption: str) -> list[list[str]]:
    """The body rows of the table with this caption."""
    (found,) = [found for found in tables(html) if found["caption"] == caption]
    rows = found["rows"]
    assert isinstance(rows, list)
    return rows[1:]


def facts(html: str) -> dict[str, str]:
    """The row headers and values of the page's fact tables."""
    found: dict[str, str] = {}
    for each in tables(html):
        if each["class"] == "facts":
            rows = each["rows"]
            assert isinstance(rows, list)
            found.update({row[0]: row[1] for row in rows})
    return found


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "action", "src") and value is not None:
                self.urls.append(value)


def urls(html: str) -> list[str]:
    """Every address in the page: links, form actions, sources."""
    parser = _Links()
    parser.feed(html)
    return parser.urls


def rows_under(html: str, first_header: str) -> list[list[str]]:
    """The body rows of the table whose first column header is ``first_header``."""
    found = []
    for each in tables(html):
        rows = each["rows"]
        assert isinstance(rows, list)
        if each["class"] != "facts" and rows and rows[0] and rows[0][0] == first_header:
            found.append(rows[1:])
    (only,) = found
    return only
