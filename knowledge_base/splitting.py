"""Where a text may be cut, from the most to the least natural boundary.

Paragraphs (blank lines) first. A paragraph too long for one chunk is cut, in order of
preference, before a list item or table row, between sentences, at a line break, between words,
and only as a last resort inside a word. Every piece is trimmed of surrounding whitespace, and
together the pieces cover every non-blank character exactly once.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Span = tuple[int, int]

_BLANK_LINE = re.compile(r"\n[ \t]*\n\s*")
_STRUCTURAL_LINE = re.compile(r"\n(?=[ \t]*(?:[-*+][ \t]|\d{1,3}[.)][ \t]|\|))")
_CLOSERS = "\"')\\]\u201d\u2019"  # quotes and brackets that may follow a full stop
_OPENERS = "\"'(\\[\u201c\u2018"  # ... or precede the next sentence's first letter
_SENTENCE_END = re.compile(f"[.!?][{_CLOSERS}]*\\s+(?=[{_OPENERS}]?[A-Z0-9])")
_LINE_BREAK = re.compile(r"\n")
_WORD_BREAK = re.compile(r"\s+")
_ABBREVIATIONS = frozenset(
    {"e.g", "i.e", "etc", "vs", "cf", "al", "approx", "dr", "mr", "mrs", "ms", "prof", "st",
     "no", "fig", "inc", "ltd", "co", "jr", "sr", "vol", "p", "pp", "ref"}
)  # fmt: skip


def paragraphs(text: str, start: int, end: int) -> list[Span]:
    """Blank-line separated blocks of text[start:end], trimmed."""
    return _pieces(text, start, end, [m.end() for m in _BLANK_LINE.finditer(text, start, end)])


def split_to_fit(text: str, span: Span, limit: int) -> list[Span]:
    """Cut one block into pieces no longer than `limit`, at the most natural boundaries."""
    return _split(text, span, limit, 0)


def _split(text: str, span: Span, limit: int, level: int) -> list[Span]:
    start, end = span
    if end - start <= limit:
        return [span]
    if level == len(_BOUNDARIES):
        return _pieces(text, start, end, list(range(start + limit, end, limit)))
    cuts = _BOUNDARIES[level](text, start, end)
    pieces = _pieces(text, start, end, cuts) if cuts else [span]
    return [part for piece in pieces for part in _split(text, piece, limit, level + 1)]


def _pieces(text: str, start: int, end: int, cuts: list[int]) -> list[Span]:
    spans = []
    for left, right in zip([start, *cuts], [*cuts, end], strict=True):
        trimmed = _trim(text, left, right)
        if trimmed is not None:
            spans.append(trimmed)
    return spans


def _trim(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _matches(pattern: re.Pattern[str]) -> Callable[[str, int, int], list[int]]:
    def cuts(text: str, start: int, end: int) -> list[int]:
        return [m.end() for m in pattern.finditer(text, start, end) if start < m.end() < end]

    return cuts


def _sentence_cuts(text: str, start: int, end: int) -> list[int]:
    cuts = []
    for match in _SENTENCE_END.finditer(text, start, end):
        before = text[max(start, match.start() - 16) : match.start() + 1].split()
        word = before[-1].rstrip(".").lstrip(_OPENERS).lower() if before else ""
        if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
            continue
        if start < match.end() < end:
            cuts.append(match.end())
    return cuts


_BOUNDARIES: list[Callable[[str, int, int], list[int]]] = [
    _matches(_STRUCTURAL_LINE),
    _sentence_cuts,
    _matches(_LINE_BREAK),
    _matches(_WORD_BREAK),
]
