"""Opening a scenario's or policy's knowledge base from the Proctor home, ingesting on first use."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cli.home import ProctorHome

if TYPE_CHECKING:
    from knowledge_base import KnowledgeBase


def knowledge_root(home: ProctorHome) -> Path:
    return home.root / "knowledge_bases"


def open_knowledge(
    home: ProctorHome,
    name: str,
    documents: Sequence[Path] = (),
    chroma_url: str | None = None,
) -> KnowledgeBase:
    """The named knowledge base; documents are ingested when it is still empty, so a sample
    scenario works on first run without a separate `proctor kb ingest`."""
    from knowledge_base import default_embedder, open_knowledge_base

    root = knowledge_root(home)
    embedder = default_embedder(cache_dir=root / "embedding-cache")
    knowledge = open_knowledge_base(name, root, embedder=embedder, chroma_url=chroma_url)
    if len(knowledge) == 0:
        for document in documents:
            knowledge.ingest(document)
    return knowledge
