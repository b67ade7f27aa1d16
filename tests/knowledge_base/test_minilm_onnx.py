"""MiniLM on ONNX Runtime gives PyTorch's embeddings: same texts, same rows, any batch."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from knowledge_base import minilm
from knowledge_base.minilm_onnx import OnnxMiniLM, OnnxUnavailableError

TEXTS = [
    "",
    "Velmora",
    "Velmora lowered systolic pressure by 11 mmHg in the trials.",
    "Many doctors use it for migraine, but that is not in the label.",
    "Ünïcode wörds, emoji 🙂 and CJK 中文 in one line.",
    " ".join(["a long passage about blood pressure and its risks"] * 60),  # > 256 tokens
]


def torch_rows(texts: list[str]) -> Any:
    model = minilm.minilm_model()
    return model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)


def test_this_install_runs_minilm_on_onnx_runtime() -> None:
    assert minilm.runs_on_onnx()


def test_onnx_embeddings_equal_pytorch_embeddings() -> None:
    runner = OnnxMiniLM.from_model(minilm.minilm_model())
    onnx_rows = runner.encode(TEXTS)
    reference = torch_rows(TEXTS)
    assert onnx_rows.shape == (len(TEXTS), minilm.MINILM_DIMENSION)
    assert np.allclose(np.linalg.norm(onnx_rows, axis=1), 1.0, atol=1e-5)
    assert (onnx_rows * reference).sum(axis=1).min() > 0.99999


def test_a_text_embeds_the_same_alone_or_padded_beside_longer_ones() -> None:
    runner = OnnxMiniLM.from_model(minilm.minilm_model())
    alone = runner.encode([TEXTS[2]])[0]
    padded = runner.encode([TEXTS[2], TEXTS[5]])[0]
    assert float(alone @ padded) > 0.99999


def test_many_texts_come_back_in_the_order_asked() -> None:
    texts = [f"sentence number {n} about {'risk ' * (n % 7)}dosing" for n in range(70)]
    rows = minilm.encode(texts)
    reference = torch_rows(texts)
    assert (rows * reference).sum(axis=1).min() > 0.99999


def test_a_model_of_another_shape_is_refused() -> None:
    class Module:
        pass

    with pytest.raises(OnnxUnavailableError, match="unexpected sentence-transformers pipeline"):
        OnnxMiniLM.from_model([Module(), Module()])
