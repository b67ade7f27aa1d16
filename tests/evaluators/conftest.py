from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def minilm():  # type: ignore[no-untyped-def]
    """The real offline MiniLM embedder, loaded once for the whole test session."""
    from knowledge_base import default_embedder

    return default_embedder()
