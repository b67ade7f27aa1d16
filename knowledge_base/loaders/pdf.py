"""PDF: the text of every page (via pypdf), one section per page.

When the PDF has an outline (bookmarks), its entries are the sections instead: that is the
author's own heading structure, so it is trusted over any guess from font sizes. A PDF with no
extractable text (a scan) or one that needs a password is reported rather than ingested empty.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterator
from typing import Any

from knowledge_base.extracted import ExtractedText, Heading
from knowledge_base.loaders.errors import UnreadableDocument

_PAGE_BREAK = "\n\n"


def load_pdf(data: bytes, name: str) -> ExtractedText:
    from pypdf import PdfReader

    pypdf_log = logging.getLogger("pypdf")
    level = pypdf_log.level
    pypdf_log.setLevel(logging.ERROR)  # damaged-but-readable files log noise we report ourselves
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                reader = PdfReader(io.BytesIO(data))
                if reader.is_encrypted and not reader.decrypt(""):
                    raise UnreadableDocument("the PDF is encrypted with a password")
                pages = [_page_text(page) for page in reader.pages]
                outline = list(_outline(reader, reader.outline, 1))
            except UnreadableDocument:
                raise
            except Exception as error:
                raise UnreadableDocument(f"not a readable PDF ({error})") from None
    finally:
        pypdf_log.setLevel(level)
    return _assemble(pages, outline)


def _page_text(page: Any) -> str:
    raw = page.extract_text() or ""
    lines = raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip()


def _outline(reader: Any, items: list[Any], level: int) -> Iterator[tuple[str, int, int]]:
    """(title, page index, level) for every outline entry, depth first, in document order."""
    for item in items:
        if isinstance(item, list):
            yield from _outline(reader, item, level + 1)
            continue
        page = reader.get_destination_page_number(item)
        title = " ".join(str(item.title or "").split())
        if title and page is not None and page >= 0:
            yield title, page, level


def _assemble(pages: list[str], outline: list[tuple[str, int, int]]) -> ExtractedText:
    starts: list[int] = []
    offset = 0
    for text in pages:
        starts.append(offset)
        offset += len(text) + len(_PAGE_BREAK)
    text = _PAGE_BREAK.join(pages)
    if not text.strip():
        raise UnreadableDocument("no extractable text (a scanned PDF needs OCR first)")
    if outline:
        headings = _outline_headings(pages, starts, outline)
    else:
        headings = [
            Heading(start, start, 1, f"page {number}")
            for number, (start, page) in enumerate(zip(starts, pages, strict=True), 1)
            if page
        ]
    return ExtractedText(text, tuple(headings))


def _outline_headings(
    pages: list[str], starts: list[int], outline: list[tuple[str, int, int]]
) -> list[Heading]:
    """Place each entry at its title on its page when the title is printed there (searching
    forward, so two entries on one page keep their order), else at the top of the page."""
    headings: list[Heading] = []
    cursor = {index: 0 for index in range(len(pages))}
    for title, page, level in outline:
        if page >= len(pages):
            continue
        found = pages[page].casefold().find(title.casefold(), cursor[page])
        if found >= 0:
            cursor[page] = found + len(title)
            start = starts[page] + found
            headings.append(Heading(start, start + len(title), level, title))
        else:
            headings.append(Heading(starts[page], starts[page], level, title))
    return sorted(headings, key=lambda heading: heading.start)
