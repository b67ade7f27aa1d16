"""HTML: visible text with its block structure, headings h1-h6 as sections.

Uses the standard library's lenient `html.parser`, so a sloppy page still yields its text.
Block elements become paragraph breaks, list items and table rows become lines (a list or a
table stays one paragraph, and so one chunk when it fits), table cells are joined with " | ",
whitespace is collapsed as a browser would, and script, style and template contents are
dropped. `<pre>` keeps its line breaks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from knowledge_base.extracted import ExtractedText, Heading
from knowledge_base.loaders.decoding import decode_text

_HIDDEN = frozenset({"script", "style", "template", "noscript", "svg", "title"})
_PARAGRAPH_BREAK = frozenset(
    {
        "p", "div", "section", "article", "main", "header", "footer", "nav", "aside",
        "blockquote", "pre", "ul", "ol", "dl", "table", "figure", "figcaption", "form",
        "fieldset", "details", "summary", "hr", "address", "body", "html",
    }
)  # fmt: skip
_LINE_BREAK = frozenset({"li", "tr", "dt", "dd", "caption", "thead", "tbody", "tfoot"})
_CELLS = frozenset({"td", "th"})
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_WHITESPACE = re.compile(r"\s+")
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def load_html(data: bytes, name: str) -> ExtractedText:
    declared = _CHARSET.search(data[:4096])
    encoding = declared.group(1).decode("ascii") if declared else "utf-8"
    parser = _TextExtractor()
    parser.feed(decode_text(data, encoding))
    parser.close()
    return parser.result()


@dataclass
class _OpenHeading:
    level: int
    start: int = -1  # offset of its first visible character, once written
    parts: list[str] = field(default_factory=list)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._parts: list[str] = []
        self._length = 0
        self._pending_breaks = 0  # newlines owed before the next visible text
        self._pending_space = False
        self._hidden_depth = 0
        self._pre_depth = 0
        self._cell_in_row = 0
        self._heading: _OpenHeading | None = None
        self._headings: list[Heading] = []

    # -- structure -------------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden_depth += 1
        elif tag in _HEADINGS:
            self._break(2)
            self._heading = _OpenHeading(_HEADINGS[tag])
        elif tag in _CELLS:
            if self._cell_in_row:
                self._pending_space = False  # the separator brings its own spaces
                self._emit(" | ")
            self._cell_in_row += 1
        elif tag in _LINE_BREAK:
            self._break(1)
            self._cell_in_row = 0
        elif tag in _PARAGRAPH_BREAK:
            self._break(2)
        elif tag in ("br", "hr"):
            self.handle_startendtag(tag, attrs)
        if tag == "pre":
            self._pre_depth += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._break(1)
        elif tag == "hr":
            self._break(2)

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden_depth = max(0, self._hidden_depth - 1)
        elif tag in _HEADINGS and self._heading is not None:
            heading = self._heading
            title = " ".join("".join(heading.parts).split())
            if title and heading.start >= 0:
                self._headings.append(Heading(heading.start, self._length, heading.level, title))
            self._heading = None
            self._break(2)
        elif tag in _PARAGRAPH_BREAK:
            self._break(2)
        elif tag in ("tr", "li", "dt", "dd"):
            self._break(1)
            self._cell_in_row = 0
        if tag == "pre":
            self._pre_depth = max(0, self._pre_depth - 1)

    # -- text ------------------------------------------------------------------------------

    def handle_data(self, data: str) -> None:
        if self._hidden_depth:
            return
        if self._pre_depth:
            for index, line in enumerate(data.split("\n")):
                if index:
                    self._break(1)
                if line.strip():
                    self._emit(line.rstrip(), keep_leading=True)
            return
        collapsed = _WHITESPACE.sub(" ", data)
        if collapsed.startswith(" "):
            self._pending_space = True
        words = collapsed.strip()
        if words:
            self._emit(words)
            self._pending_space = collapsed.endswith(" ")

    def _break(self, newlines: int) -> None:
        self._pending_breaks = max(self._pending_breaks, newlines)

    def _emit(self, text: str, keep_leading: bool = False) -> None:
        if self._length and self._pending_breaks:
            self._write("\n" * self._pending_breaks)
        elif self._length and self._pending_space and not keep_leading:
            self._write(" ")
        self._pending_breaks = 0
        self._pending_space = False
        if self._heading is not None and self._heading.start < 0:
            self._heading.start = self._length
        self._write(text)

    def _write(self, text: str) -> None:
        if self._heading is not None and self._heading.start >= 0:
            self._heading.parts.append(text)
        self._parts.append(text)
        self._length += len(text)

    def result(self) -> ExtractedText:
        return ExtractedText("".join(self._parts), tuple(self._headings))
