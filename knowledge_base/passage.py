"""A retrieved (or stored) piece of a document, with the provenance an auditor needs.

A passage names its document, heading path and character offsets into the document's
extracted text, plus the SHA-256 of its text, so a finding that cites a passage can be traced
to the exact words in the approved source and checked years later.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Passage(BaseModel):
    """One chunk of a knowledge-base document; `score` is set only by a search."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    chunk_id: str = Field(description="Stable id: '<document id>#<index>'.")
    knowledge_base: str
    document: str = Field(description="Source file, relative to the ingested folder (posix).")
    section: str = Field(description="Heading path, e.g. 'Risk > Currency'; '' if none.")
    start: int = Field(ge=0, description="Offset of the chunk in the extracted text.")
    end: int = Field(ge=0, description="End offset (exclusive) in the extracted text.")
    text: str
    content_sha256: str = Field(description="Hex SHA-256 of `text` (UTF-8).")
    score: float = Field(
        default=0.0, ge=0.0, le=1.0, description="Cosine similarity to the query; 0 if unsearched."
    )
