"""What a loader produces: plain text plus where its sections begin.

Offsets in every passage refer to this text, not to the bytes on disk, so that
`extracted.text[start:end] == passage.text` holds for every format alike.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Heading:
    """A section start. `start:end` is the heading's own text in the extracted text;
    `start == end` for headings that are not part of the text (a PDF page, a CSV file name)."""

    start: int
    end: int
    level: int
    title: str


@dataclass(frozen=True)
class ExtractedText:
    text: str
    headings: tuple[Heading, ...] = ()
