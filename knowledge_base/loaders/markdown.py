"""Markdown: the text is kept verbatim (so offsets point into the file as written) and the
ATX (`## Title`) and setext (underlined) headings become sections. Lines inside fenced code
blocks are never headings, and a `---` under a list item or table row is a rule, not a heading.
"""

from __future__ import annotations

import re

from knowledge_base.extracted import ExtractedText, Heading
from knowledge_base.loaders.decoding import decode_text

_ATX = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*")
_SETEXT = re.compile(r" {0,3}(=+|-+)[ \t]*")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_NOT_A_SETEXT_TITLE = re.compile(r" {0,3}([-*+>|]|\d+[.)]|#)")


def load_markdown(data: bytes, name: str) -> ExtractedText:
    text = decode_text(data)
    return ExtractedText(text, tuple(markdown_headings(text)))


def markdown_headings(text: str) -> list[Heading]:
    headings: list[Heading] = []
    fence: str | None = None
    offset = 0
    previous: tuple[int, str] | None = None  # (offset, line) of a possible setext title
    for line in text.split("\n"):
        start, offset = offset, offset + len(line) + 1
        fenced = _FENCE.match(line)
        if fence is not None:
            if fenced and fenced.group(1)[0] == fence[0] and len(fenced.group(1)) >= len(fence):
                fence = None
            continue
        if fenced:
            fence, previous = fenced.group(1), None
            continue
        atx = _ATX.fullmatch(line)
        setext = _SETEXT.fullmatch(line)
        if atx and (atx.group(2) or "").strip():
            headings.append(Heading(start, start + len(line), len(atx.group(1)), atx.group(2)))
            previous = None
        elif setext and previous is not None:
            title_start, title = previous
            level = 1 if setext.group(1)[0] == "=" else 2
            headings.append(Heading(title_start, start + len(line), level, title.strip()))
            previous = None
        elif line.strip() and not _NOT_A_SETEXT_TITLE.match(line):
            previous = (start, line)
        else:
            previous = None
    return headings
