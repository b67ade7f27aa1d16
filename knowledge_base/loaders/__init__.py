"""Turn a file's bytes into `ExtractedText`, choosing the loader by file suffix.

Every failure, including an unexpected one inside a third-party parser, becomes
`UnreadableDocument` with a reason, so one bad file can never stop an ingest.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath

from knowledge_base.extracted import ExtractedText
from knowledge_base.loaders.errors import UnreadableDocument
from knowledge_base.loaders.html import load_html
from knowledge_base.loaders.markdown import load_markdown
from knowledge_base.loaders.pdf import load_pdf
from knowledge_base.loaders.table import load_csv
from knowledge_base.loaders.text import load_text

Loader = Callable[[bytes, str], ExtractedText]

LOADERS: dict[str, Loader] = {
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".txt": load_text,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
    ".csv": load_csv,
}


def unsupported_reason(name: str) -> str | None:
    """Why a file of this name cannot be ingested, or None if its type is supported."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in LOADERS:
        return None
    kinds = ", ".join(sorted(LOADERS))
    return f"unsupported file type {suffix or '(none)'!r}; supported: {kinds}"


def load_document(data: bytes, name: str) -> ExtractedText:
    """Extract the text of `data`, read from the file `name` (its suffix picks the loader)."""
    reason = unsupported_reason(name)
    if reason is not None:
        raise UnreadableDocument(reason)
    loader = LOADERS[PurePosixPath(name).suffix.lower()]
    try:
        extracted = loader(data, name)
    except UnreadableDocument:
        raise
    except Exception as error:  # a parser bug must not abort the whole ingest
        raise UnreadableDocument(f"cannot extract text: {type(error).__name__}: {error}") from None
    if not extracted.text.strip():
        raise UnreadableDocument("no text to ingest (the file is empty)")
    return extracted


__all__ = ["LOADERS", "ExtractedText", "UnreadableDocument", "load_document", "unsupported_reason"]
