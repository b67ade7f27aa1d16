from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from knowledge_base import Embedder, KnowledgeBase, default_embedder, open_knowledge_base


class CountingEmbedder:
    """Wraps an embedder and records every text it is asked to embed."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.dimension = inner.dimension
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.calls.append(list(texts))
        return self.inner.embed(texts)

    @property
    def texts(self) -> list[str]:
        return [text for call in self.calls for text in call]


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real MiniLM embedder, loaded once for the whole session (~9 s)."""
    loaded = default_embedder()
    loaded.embed(["warm up"])
    return loaded


@pytest.fixture
def counting(embedder: Embedder) -> CountingEmbedder:
    return CountingEmbedder(embedder)


@pytest.fixture
def open_kb(tmp_path: Path, embedder: Embedder) -> Callable[..., KnowledgeBase]:
    def make(name: str = "test-kb", embedder_: Embedder | None = None) -> KnowledgeBase:
        return open_knowledge_base(name, tmp_path / "kbs", embedder=embedder_ or embedder)

    return make
