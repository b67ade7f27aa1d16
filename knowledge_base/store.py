"""The chunks of one knowledge base in one Chroma collection.

Chroma never embeds here (`embedding_function=None`): vectors always come from Proctor's own
embedder, because Chroma's default would try to download an ONNX model. The collection uses
the cosine space, so a distance d is a similarity of 1 - d.

Each chunk's metadata carries its provenance and its document's content digest. The chunk with
index 0 of every document doubles as the manifest entry for that document, so the manifest
lives in the store itself and stays right when several replicas share one Chroma server. That
chunk is written last, so a document whose write was interrupted has no manifest entry and is
ingested again in full next time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from knowledge_base.chunking import Chunk
from knowledge_base.digest import text_sha256
from knowledge_base.errors import KnowledgeBaseError
from knowledge_base.passage import Passage

if TYPE_CHECKING:
    import numpy as np
    from chromadb.api import ClientAPI
    from chromadb.api.collection_configuration import CreateCollectionConfiguration
    from chromadb.api.models.Collection import Collection
    from chromadb.api.types import Metadata
    from numpy.typing import NDArray

_CONFIGURATION: CreateCollectionConfiguration = {"hnsw": {"space": "cosine"}}
_MARKER = {"proctor": "knowledge-base"}  # tells our collections from others on a shared server
_PAGE = 2_000


@dataclass(frozen=True)
class StoredDocument:
    document: str
    document_id: str
    sha256: str
    pipeline: str
    chunks: int


@dataclass(frozen=True)
class DocumentChunks:
    document: str
    document_id: str
    sha256: str
    pipeline: str
    chunks: Sequence[Chunk]

    def chunk_id(self, chunk: Chunk) -> str:
        return f"{self.document_id}#{chunk.index}"

    def metadata(self, chunk: Chunk) -> dict[str, str | int]:
        return {
            "document": self.document,
            "document_id": self.document_id,
            "document_sha256": self.sha256,
            "pipeline": self.pipeline,
            "chunks": len(self.chunks),
            "index": chunk.index,
            "section": chunk.section,
            "start": chunk.start,
            "end": chunk.end,
            "content_sha256": text_sha256(chunk.text),
        }


class ChunkStore:
    def __init__(self, client: ClientAPI, name: str) -> None:
        self._client = client
        self.name = name
        self._collection: Collection | None = None

    # -- collection --------------------------------------------------------------------------

    def _existing(self) -> Collection | None:
        if self._collection is None:
            from chromadb.errors import NotFoundError

            try:
                collection = self._client.get_collection(self.name, embedding_function=None)
            except (NotFoundError, ValueError):
                return None
            if (collection.metadata or {}).get("proctor") != _MARKER["proctor"]:
                raise KnowledgeBaseError(
                    f"the Chroma collection {self.name!r} exists but is not a Proctor knowledge "
                    "base; choose another name"
                )
            self._collection = collection
        return self._collection

    def _created(self) -> Collection:
        if self._existing() is None:
            self._collection = self._client.get_or_create_collection(
                self.name,
                configuration=_CONFIGURATION,
                metadata=_MARKER,
                embedding_function=None,
            )
        assert self._collection is not None
        return self._collection

    def require(self) -> Collection:
        collection = self._existing()
        if collection is None:
            raise KnowledgeBaseError(
                f"knowledge base {self.name!r} does not exist; create it with "
                f"`proctor kb ingest DIR --name {self.name}`"
            )
        return collection

    @property
    def exists(self) -> bool:
        return self._existing() is not None

    @property
    def client(self) -> ClientAPI:
        return self._client

    # -- reading -----------------------------------------------------------------------------

    def count(self) -> int:
        collection = self._existing()
        return collection.count() if collection is not None else 0

    def documents(self) -> dict[str, StoredDocument]:
        """The manifest: every completely written document, by document id."""
        manifest = {}
        for _, metadata, _ in self._records(where={"index": 0}, texts=False):
            document = StoredDocument(
                document=_str(metadata, "document"),
                document_id=_str(metadata, "document_id"),
                sha256=_str(metadata, "document_sha256"),
                pipeline=_str(metadata, "pipeline"),
                chunks=_int(metadata, "chunks"),
            )
            manifest[document.document_id] = document
        return manifest

    def chunk_digests(self) -> list[tuple[str, str]]:
        return [
            (chunk_id, _str(metadata, "content_sha256"))
            for chunk_id, metadata, _ in self._records(texts=False)
        ]

    def passages(self) -> list[Passage]:
        passages = [self._passage(i, m, text, None) for i, m, text in self._records(texts=True)]
        return sorted(passages, key=lambda p: (p.document, p.start, p.chunk_id))

    def query(self, embedding: NDArray[np.float32], k: int) -> list[Passage]:
        result = self.require().query(
            query_embeddings=embedding.reshape(1, -1),
            n_results=k,
            include=["metadatas", "documents", "distances"],
        )
        ids = result["ids"][0]
        metadatas = (result["metadatas"] or [[]])[0]
        texts = (result["documents"] or [[]])[0]
        distances = (result["distances"] or [[]])[0]
        return [
            self._passage(*record) for record in zip(ids, metadatas, texts, distances, strict=True)
        ]

    def _records(
        self, *, where: dict[str, Any] | None = None, texts: bool
    ) -> Iterator[tuple[str, Mapping[str, Any], str]]:
        collection = self._existing()
        if collection is None:
            return
        offset = 0
        while True:
            page = collection.get(
                where=where,
                limit=_PAGE,
                offset=offset,
                include=["metadatas", "documents"] if texts else ["metadatas"],
            )
            metadatas = page["metadatas"] or []
            documents = page["documents"] or [""] * len(page["ids"])
            yield from zip(page["ids"], metadatas, documents, strict=True)
            if len(page["ids"]) < _PAGE:
                return
            offset += _PAGE

    def _passage(
        self, chunk_id: str, metadata: Mapping[str, Any], text: str | None, distance: float | None
    ) -> Passage:
        score = 0.0 if distance is None else min(1.0, max(0.0, 1.0 - distance))
        return Passage(
            chunk_id=chunk_id,
            knowledge_base=self.name,
            document=_str(metadata, "document"),
            section=_str(metadata, "section"),
            start=_int(metadata, "start"),
            end=_int(metadata, "end"),
            text=text or "",
            content_sha256=_str(metadata, "content_sha256"),
            score=score,
        )

    # -- writing -----------------------------------------------------------------------------

    def delete_document(self, document_id: str) -> None:
        collection = self._existing()
        if collection is not None:
            collection.delete(where={"document_id": document_id})

    def write_document(self, document: DocumentChunks, embeddings: NDArray[np.float32]) -> None:
        """Upsert every chunk, in batches Chroma accepts, with chunk 0 (the manifest entry)
        in the last batch."""
        collection = self._created()
        order = [*range(1, len(document.chunks)), 0]
        batch = max(1, self._client.get_max_batch_size())
        for offset in range(0, len(order), batch):
            chosen = [document.chunks[i] for i in order[offset : offset + batch]]
            collection.upsert(
                ids=[document.chunk_id(chunk) for chunk in chosen],
                embeddings=embeddings[[chunk.index for chunk in chosen]],
                documents=[chunk.text for chunk in chosen],
                metadatas=[document.metadata(chunk) for chunk in chosen],
            )

    def add_vectors(
        self,
        ids: Sequence[str],
        embeddings: NDArray[np.float32],
        metadatas: Sequence[Mapping[str, str | int | float | bool]],
    ) -> None:
        """Raw insertion for benchmarks that fill a collection without embedding text."""
        collection = self._created()
        batch = max(1, self._client.get_max_batch_size())
        for offset in range(0, len(ids), batch):
            end = offset + batch
            chosen: list[Metadata] = [metadata for metadata in metadatas[offset:end]]
            collection.upsert(
                ids=list(ids[offset:end]),
                embeddings=embeddings[offset:end],
                metadatas=chosen,
                documents=[""] * len(chosen),
            )


def _str(metadata: Mapping[str, Any], key: str) -> str:
    value = metadata.get(key)
    return value if isinstance(value, str) else ""


def _int(metadata: Mapping[str, Any], key: str) -> int:
    value = metadata.get(key)
    return value if isinstance(value, int) else 0
