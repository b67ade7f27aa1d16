"""The knowledge base as a LangChain retriever, for developers embedding Proctor in a
LangChain application. Metadata carries the full provenance (every `Passage` field except the
text, which is `page_content`), so a chain can cite document, section and offsets.
"""

from __future__ import annotations

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from knowledge_base.kb import KnowledgeBase


class KnowledgeBaseRetriever(BaseRetriever):
    """`KnowledgeBaseRetriever(knowledge_base=kb, k=3).invoke("question")`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    knowledge_base: KnowledgeBase
    k: int = Field(default=3, ge=1)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [
            Document(page_content=passage.text, metadata=passage.model_dump(exclude={"text"}))
            for passage in self.knowledge_base.search(query, k=self.k)
        ]
