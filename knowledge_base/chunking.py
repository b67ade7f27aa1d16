"""Chunking by structure: sections, then paragraphs packed up to ~800 characters.

Chunks never cross a section boundary, so each chunk answers to one heading path. Within a
section, whole paragraphs are packed together; a paragraph that does not fit is cut at the most
natural boundary available (see `splitting`), so sentences and table rows stay whole whenever
they can. Packing aims for chunks of even size (a 1,000-character section becomes two of ~500,
not 800 + 200), because a tiny tail chunk carries too little context to be retrieved well.

~800 characters is ~180 MiniLM word pieces: under the model's 256-token window (text beyond it
would be silently ignored by the embedding) and about one topical paragraph of a label.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from knowledge_base.extracted import ExtractedText
from knowledge_base.sections import sections
from knowledge_base.splitting import Span, paragraphs, split_to_fit

MAX_CHARS = 800
PIPELINE_VERSION = f"structure-v1/{MAX_CHARS}"  # stored with chunks: a change re-chunks documents


@dataclass(frozen=True)
class Chunk:
    index: int
    section: str
    start: int
    end: int
    text: str

    @property
    def embedding_text(self) -> str:
        """What gets embedded: the heading path, then the text. A continuation chunk of a long
        section does not repeat its heading, and without it would lose its topic."""
        return f"{self.section}\n{self.text}" if self.section else self.text


def chunk_document(extracted: ExtractedText, max_chars: int = MAX_CHARS) -> list[Chunk]:
    text = extracted.text
    chunks: list[Chunk] = []
    for section in sections(extracted):
        units = [
            piece
            for block in paragraphs(text, section.start, section.end)
            for piece in split_to_fit(text, block, max_chars)
        ]
        for start, end in _pack(units, max_chars):
            chunks.append(Chunk(len(chunks), section.path, start, end, text[start:end]))
    return chunks


def _pack(units: list[Span], limit: int) -> list[Span]:
    """Greedy packing of consecutive units towards an even target size, never above `limit`
    (a single unit is never longer than `limit` after `split_to_fit`)."""
    if not units:
        return []
    total = units[-1][1] - units[0][0]
    target = total / math.ceil(total / limit)
    packed: list[Span] = []
    start, end = units[0]
    for unit_start, unit_end in units[1:]:
        if unit_end - start > limit or end - start >= target:
            packed.append((start, end))
            start = unit_start
        end = unit_end
    packed.append((start, end))
    return packed
