"""Texts asked for at the same moment share one MiniLM pass and get the same vectors."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from knowledge_base import minilm

SENTENCES = [
    "Velmora is indicated for adults with chronic plaque psoriasis.",
    "Is it safe in pregnancy?",
    "The most common adverse reaction was headache.",
    "Can I take it with ibuprofen?",
    "Tell me about the dosing.",
    "It is not approved for migraine.",
]


def test_concurrent_requests_share_passes_and_match_single_encodes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alone = {text: minilm.encode([text])[0] for text in SENTENCES}
    model = minilm.minilm_model()
    passes: list[int] = []
    gate = threading.Event()
    real_encode = model.encode

    def counted(texts: list[str], **options: Any) -> Any:
        passes.append(len(texts))
        gate.wait(10)  # the first pass holds the lead while the others queue up
        return real_encode(texts, **options)

    monkeypatch.setattr(model, "encode", counted)
    results: dict[str, np.ndarray[Any, Any]] = {}

    def ask(text: str) -> None:
        (results[text],) = minilm.encode([text])

    threads = [threading.Thread(target=ask, args=(text,)) for text in SENTENCES]
    threads[0].start()
    while not passes:
        threading.Event().wait(0.001)
    for thread in threads[1:]:
        thread.start()
    while len(minilm._together._queue) < len(SENTENCES) - 1:
        threading.Event().wait(0.001)
    gate.set()
    for thread in threads:
        thread.join(30)
    assert passes == [1, len(SENTENCES) - 1]  # five callers, one pass
    for text in SENTENCES:
        assert results[text].shape == (minilm.MINILM_DIMENSION,)
        assert float(results[text] @ alone[text]) > 0.9999


def test_a_text_asked_for_twice_in_one_pass_is_encoded_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = minilm.minilm_model()
    seen: list[list[str]] = []
    real_encode = model.encode

    def recorded(texts: list[str], **options: Any) -> Any:
        seen.append(list(texts))
        return real_encode(texts, **options)

    monkeypatch.setattr(model, "encode", recorded)
    rows = minilm.encode([SENTENCES[0], SENTENCES[1], SENTENCES[0]])
    assert seen == [[SENTENCES[0], SENTENCES[1]]]
    assert rows.shape == (3, minilm.MINILM_DIMENSION)
    assert np.array_equal(rows[0], rows[2]) and not np.array_equal(rows[0], rows[1])


def test_a_request_of_many_texts_keeps_its_rows_in_order() -> None:
    together = minilm.encode(SENTENCES)
    assert together.shape == (len(SENTENCES), minilm.MINILM_DIMENSION)
    for row, text in zip(together, SENTENCES, strict=True):
        assert float(row @ minilm.encode([text])[0]) > 0.9999
    assert minilm.encode([]).shape == (0, minilm.MINILM_DIMENSION)
