"""A named knowledge base: ingest documents, search passages, name its content by digest.

Opening a knowledge base is cheap: the embedding model is loaded only when text has to be
embedded (an ingest of new content, or a search), so reading the digest or listing passages
never pays the model's load time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from knowledge_base.chroma import connect
from knowledge_base.digest import knowledge_base_digest
from knowledge_base.embedding import Embedder, default_embedder
from knowledge_base.errors import KnowledgeBaseError
from knowledge_base.ingest import IngestReport, ingest_source
from knowledge_base.names import validate_name
from knowledge_base.passage import Passage
from knowledge_base.store import ChunkStore

EMBEDDING_CACHE_FOLDER = "embedding-cache"


class KnowledgeBase:
    """One Chroma collection of chunks with provenance, searched by cosine similarity."""

    def __init__(self, name: str, store: ChunkStore, embedder: Callable[[], Embedder]) -> None:
        self.name = name
        self._store = store
        self._make_embedder = embedder
        self._embedder: Embedder | None = None
        self._digest: str | None = None
        self._lock = threading.Lock()

    @property
    def store(self) -> ChunkStore:
        """The underlying Chroma store (for diagnostics and benchmarks)."""
        return self._store

    @property
    def digest(self) -> str:
        """Hex SHA-256 over the sorted (chunk id, content SHA-256) pairs; computed once per
        opening and after each ingest (another process ingesting is seen on the next open)."""
        if self._digest is None:
            self._digest = knowledge_base_digest(self._store.chunk_digests())
        return self._digest

    def search(self, query: str, k: int = 3) -> list[Passage]:
        """The `k` passages most similar to `query`, best first, with cosine scores."""
        if not query.strip():
            raise KnowledgeBaseError("the search query is empty")
        if k < 1:
            raise KnowledgeBaseError(f"k must be at least 1, not {k}")
        self._store.require()  # a missing knowledge base fails before the model loads
        vector = self.embedder.embed([query])[0]
        return self._store.query(vector, k)

    def ingest(self, source: Path, progress: bool = False) -> IngestReport:
        """Ingest a folder (recursively) or one file; see `IngestReport` for what changed."""
        with self._lock:
            report = ingest_source(self._store, lambda: self.embedder, source, progress)
            self._digest = None
            report.digest = self.digest
        return report

    def passages(self) -> list[Passage]:
        """Every chunk (score 0.0), in document and offset order."""
        return self._store.passages()

    def __len__(self) -> int:
        return self._store.count()

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self._make_embedder()
        return self._embedder

    def __repr__(self) -> str:
        return f"KnowledgeBase(name={self.name!r})"


def open_knowledge_base(
    name: str,
    root: Path,
    *,
    embedder: Embedder | None = None,
    chroma_url: str | None = None,
) -> KnowledgeBase:
    """Open (not create: the first ingest creates it) the knowledge base `name`.

    `root` holds every knowledge base on this machine (the CLI passes
    `$PROCTOR_HOME/knowledge_bases`): the embedded Chroma store lives in `root/chroma` and the
    embedding cache in `root/embedding-cache`. With `chroma_url`, chunks live on that Chroma
    server instead and only the embedding cache stays local.
    """
    validate_name(name)
    client = connect(root, chroma_url)
    if embedder is not None:
        chosen = embedder
        return KnowledgeBase(name, ChunkStore(client, name), lambda: chosen)
    cache = root / EMBEDDING_CACHE_FOLDER
    return KnowledgeBase(name, ChunkStore(client, name), lambda: default_embedder(cache))
