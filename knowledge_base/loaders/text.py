"""Plain text: the file's own words, no structure beyond paragraphs."""

from __future__ import annotations

from knowledge_base.extracted import ExtractedText
from knowledge_base.loaders.decoding import decode_text


def load_text(data: bytes, name: str) -> ExtractedText:
    return ExtractedText(decode_text(data))
