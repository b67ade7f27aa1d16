"""Content digests: of a chunk, of a document's bytes, of a whole knowledge base.

The knowledge-base digest is what `SessionStarted` records, so an auditor can tell which
approved content the persona and the grounding checks saw. It covers every chunk's id and
content digest in a canonical (sorted) order: it changes exactly when some chunk's content
(or the set of chunks) changes, and not with storage order or search history.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def text_sha256(text: str) -> str:
    return sha256_hex(text.encode("utf-8"))


def document_id(document: str) -> str:
    """Stable id of a document: the SHA-256 of its relative path (posix)."""
    return text_sha256(document)


def knowledge_base_digest(chunks: Iterable[tuple[str, str]]) -> str:
    """SHA-256 over sorted "<chunk id> <content sha256>" lines."""
    digest = hashlib.sha256()
    for chunk_id, content_sha256 in sorted(chunks):
        digest.update(f"{chunk_id} {content_sha256}\n".encode())
    return digest.hexdigest()
