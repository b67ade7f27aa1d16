"""The LangChain retriever adapter over a knowledge base."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from knowledge_base import KnowledgeBase, KnowledgeBaseRetriever
from tests.knowledge_base.test_ingest import write_sources


def test_retriever_returns_documents_with_passage_metadata(
    tmp_path: Path, open_kb: Callable[..., KnowledgeBase]
) -> None:
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever

    kb = open_kb()
    kb.ingest(write_sources(tmp_path / "src"))
    retriever = KnowledgeBaseRetriever(knowledge_base=kb, k=2)
    assert isinstance(retriever, BaseRetriever)

    documents = retriever.invoke("Is it safe to drink alcohol with it?")
    passages = kb.search("Is it safe to drink alcohol with it?", k=2)
    assert len(documents) == 2
    assert all(isinstance(document, Document) for document in documents)
    assert [d.page_content for d in documents] == [p.text for p in passages]
    top = documents[0]
    assert top.metadata == passages[0].model_dump(exclude={"text"})
    assert top.metadata["document"] == "zorvane.md"
    assert top.metadata["section"] == "Interactions"
    assert set(top.metadata) == {
        "chunk_id",
        "knowledge_base",
        "document",
        "section",
        "start",
        "end",
        "content_sha256",
        "score",
    }
    assert 0.0 < top.metadata["score"] <= 1.0
    assert len(retriever.batch(["dose", "storage", "price"])) == 3
