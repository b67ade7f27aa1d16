"""Ingesting files into a knowledge base: load, chunk, embed, replace; idempotently.

A document whose bytes (and chunking pipeline) are unchanged since the last ingest is not read
past its digest: no extraction, no embedding. A changed document is extracted and embedded
first and only then swaps its old chunks for the new ones, so a failure while embedding leaves
the previous version in place. Documents that are no longer in the source folder are kept:
several folders may feed one knowledge base.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from knowledge_base.chunking import PIPELINE_VERSION, chunk_document
from knowledge_base.digest import document_id, sha256_hex
from knowledge_base.embedding import Embedder
from knowledge_base.loaders import UnreadableDocument, load_document, unsupported_reason
from knowledge_base.sources import SkippedFile, SourceFile, discover
from knowledge_base.store import ChunkStore, DocumentChunks, StoredDocument


@dataclass
class IngestReport:
    """What one ingest changed, what it skipped and why, and the resulting digest."""

    documents_added: int = 0
    documents_replaced: int = 0
    documents_unchanged: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    skipped: list[SkippedFile] = field(default_factory=list)
    digest: str = ""

    @property
    def documents_ingested(self) -> int:
        return self.documents_added + self.documents_replaced + self.documents_unchanged


def ingest_source(
    store: ChunkStore, embedder: Callable[[], Embedder], source: Path, progress: bool
) -> IngestReport:
    from tqdm import tqdm

    files, skipped = discover(source)
    report = IngestReport(skipped=list(skipped))
    manifest = store.documents()
    with tqdm(
        total=len(files), desc="ingesting", unit="file", file=sys.stderr, disable=not progress
    ) as bar:
        for file in files:
            bar.set_postfix_str(file.document, refresh=False)
            _ingest_file(store, embedder, file, manifest, report)
            bar.update(1)
    return report


def _ingest_file(
    store: ChunkStore,
    embedder: Callable[[], Embedder],
    file: SourceFile,
    manifest: dict[str, StoredDocument],
    report: IngestReport,
) -> None:
    unsupported = unsupported_reason(file.document)
    if unsupported is not None:
        report.skipped.append(SkippedFile(file.document, unsupported))
        return
    try:
        data = file.path.read_bytes()
    except OSError as error:
        report.skipped.append(SkippedFile(file.document, f"cannot read: {error.strerror}"))
        return
    identifier = document_id(file.document)
    content = sha256_hex(data)
    previous = manifest.get(identifier)
    if previous and previous.sha256 == content and previous.pipeline == PIPELINE_VERSION:
        report.documents_unchanged += 1
        return
    try:
        chunks = chunk_document(load_document(data, file.document))
    except UnreadableDocument as error:
        report.skipped.append(SkippedFile(file.document, error.reason))
        return
    embeddings = embedder().embed([chunk.embedding_text for chunk in chunks])
    store.delete_document(identifier)  # also clears the remains of an interrupted write
    store.write_document(
        DocumentChunks(file.document, identifier, content, PIPELINE_VERSION, chunks), embeddings
    )
    report.chunks_added += len(chunks)
    if previous:
        report.documents_replaced += 1
        report.chunks_removed += previous.chunks
    else:
        report.documents_added += 1
