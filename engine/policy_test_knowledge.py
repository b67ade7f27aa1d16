"""A throw-away knowledge base for one policy test run, built from the documents given.

`proctor policy test --kb-docs PATH` checks grounding rules against exactly the documents a
compliance officer names (the label, the factsheet), not whatever an earlier
`proctor kb ingest` left in the Proctor home, so that a test run is reproducible. The
knowledge base lives in a folder the caller owns (a temporary directory) and disappears with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from knowledge_base import Embedder, KnowledgeBase, KnowledgeBaseError, open_knowledge_base

DEFAULT_NAME = "policy-test"


def knowledge_from_documents(
    documents: Sequence[Path],
    root: Path,
    *,
    name: str | None = None,
    embedder: Embedder | None = None,
) -> KnowledgeBase:
    """Ingest every file or folder in `documents` into a new knowledge base under `root`.

    Raises KnowledgeBaseError, naming the paths, when nothing could be ingested: a test run
    that silently judged grounding against an empty knowledge base would prove nothing."""
    knowledge = open_knowledge_base(name or DEFAULT_NAME, root, embedder=embedder)
    ingested = 0
    skipped: list[str] = []
    for source in documents:
        report = knowledge.ingest(source)
        ingested += report.documents_ingested
        skipped += [f"{item.path}: {item.reason}" for item in report.skipped]
    if ingested == 0:
        sources = ", ".join(str(source) for source in documents) or "(none)"
        why = f" ({'; '.join(skipped)})" if skipped else ""
        raise KnowledgeBaseError(f"no document could be ingested from {sources}{why}")
    return knowledge
