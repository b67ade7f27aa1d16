"""The static embedder distilled locally from the bundled MiniLM (model2vec), offline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knowledge_base.static_embedder import MODEL_FILE, STATIC_DIMENSION, StaticEmbedder


@pytest.fixture(scope="module")
def static_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("static") / "minilm-static"


def test_distils_once_into_its_folder_without_network(
    static_dir: Path, no_network: list[str]
) -> None:
    embedder = StaticEmbedder(static_dir)
    assert (static_dir / MODEL_FILE).is_file()
    assert no_network == []
    rows = embedder.embed(["It lowered systolic pressure.", "Blood pressure fell.", "Hello"])
    assert rows.shape == (3, STATIC_DIMENSION) and rows.dtype == np.float32
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)


def test_related_sentences_are_closer_than_unrelated_ones(static_dir: Path) -> None:
    embedder = StaticEmbedder(static_dir)
    claim, paraphrase, unrelated = embedder.embed(
        [
            "The drug lowered systolic blood pressure in the trial.",
            "Systolic pressure went down with the medicine in the study.",
            "Please send the invoice to our accounts department.",
        ]
    )
    assert float(claim @ paraphrase) > float(claim @ unrelated) + 0.2


def test_a_second_embedder_reuses_the_distilled_folder(static_dir: Path) -> None:
    before = (static_dir / MODEL_FILE).stat().st_mtime_ns
    StaticEmbedder(static_dir).embed(["again"])
    assert (static_dir / MODEL_FILE).stat().st_mtime_ns == before
