from __future__ import annotations

from pathlib import Path

import pytest

from policies import pack_path


@pytest.fixture(scope="session")
def embedder():  # type: ignore[no-untyped-def]
    from knowledge_base import default_embedder

    return default_embedder()


@pytest.fixture(scope="session")
def knowledge_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("knowledge")


def _knowledge(root: Path, embedder, name: str, document: Path):  # type: ignore[no-untyped-def]
    from knowledge_base import open_knowledge_base

    knowledge = open_knowledge_base(name, root, embedder=embedder)
    if len(knowledge) == 0:
        knowledge.ingest(document)
    return knowledge


@pytest.fixture(scope="session")
def velmora(knowledge_root: Path, embedder):  # type: ignore[no-untyped-def]
    return _knowledge(
        knowledge_root, embedder, "velmora-label", pack_path("pharma") / "velmora-label.md"
    )


@pytest.fixture(scope="session")
def harbourline(knowledge_root: Path, embedder):  # type: ignore[no-untyped-def]
    document = pack_path("investment") / "harbourline-factsheet.md"
    return _knowledge(knowledge_root, embedder, "harbourline-factsheet", document)


@pytest.fixture(scope="session")
def northgate(knowledge_root: Path, embedder):  # type: ignore[no-untyped-def]
    document = pack_path("service") / "complaints-procedure.md"
    return _knowledge(knowledge_root, embedder, "northgate-complaints", document)
