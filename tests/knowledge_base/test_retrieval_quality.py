"""Retrieval quality on the sample packs' documents: the passage that answers each question,
asked the way a doctor or a client would, must be among the top 3.

Both documents share one knowledge base here, so each question also has to beat the other
document's passages.
"""

from __future__ import annotations

import shutil

import pytest

from knowledge_base import Embedder, KnowledgeBase, open_knowledge_base
from policies import pack_path
from tests.knowledge_base.retrieval_questions import (
    FACTSHEET_QUESTIONS,
    HARBOURLINE_FACTSHEET,
    PHARMA_QUESTIONS,
    VELMORA_LABEL,
)


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> KnowledgeBase:
    source = tmp_path_factory.mktemp("samples")
    shutil.copy(pack_path("pharma") / VELMORA_LABEL, source)
    shutil.copy(pack_path("investment") / HARBOURLINE_FACTSHEET, source)
    kb = open_knowledge_base("samples", tmp_path_factory.mktemp("kbs"), embedder=embedder)
    kb.ingest(source)
    return kb


def _ranks(kb: KnowledgeBase, questions: list[tuple[str, str]], document: str) -> list[int | None]:
    ranks: list[int | None] = []
    for question, answer in questions:
        found = kb.search(question, k=3)
        ranks.append(
            next(
                (
                    rank
                    for rank, passage in enumerate(found, 1)
                    if passage.document == document and _flat(answer) in _flat(passage.text)
                ),
                None,
            )
        )
    return ranks


def _summary(questions: list[tuple[str, str]], ranks: list[int | None]) -> str:
    hits = sum(rank is not None for rank in ranks)
    first = sum(rank == 1 for rank in ranks)
    misses = [q for (q, _), rank in zip(questions, ranks, strict=True) if rank is None]
    return (
        f"top-3 hit rate {hits}/{len(ranks)} ({hits / len(ranks):.0%}), "
        f"top-1 {first}/{len(ranks)}; missed: {misses}"
    )


@pytest.mark.parametrize(
    ("questions", "document", "minimum"),
    [(PHARMA_QUESTIONS, VELMORA_LABEL, 20), (FACTSHEET_QUESTIONS, HARBOURLINE_FACTSHEET, 10)],
    ids=["velmora-label", "harbourline-factsheet"],
)
def test_the_answering_passage_is_in_the_top_3(
    samples: KnowledgeBase,
    questions: list[tuple[str, str]],
    document: str,
    minimum: int,
) -> None:
    assert len(questions) >= minimum
    ranks = _ranks(samples, questions, document)
    assert all(rank is not None for rank in ranks), _summary(questions, ranks)


def test_every_expected_answer_exists_in_exactly_one_passage(samples: KnowledgeBase) -> None:
    """Guards the question set itself: an answer string that matched nowhere, or in several
    passages, would make the quality test meaningless."""
    passages = samples.passages()
    for _, answer in PHARMA_QUESTIONS + FACTSHEET_QUESTIONS:
        holders = [p.chunk_id for p in passages if _flat(answer) in _flat(p.text)]
        assert len(holders) == 1, (answer, holders)
