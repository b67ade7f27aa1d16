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
    passes: list[int] = []
    gate = threading.Event()
    real_pass = minilm._embed_distinct

    def counted(texts: list[str]) -> Any:
        passes.append(len(texts))
        gate.wait(10)  # the first passes hold both lanes while the others queue up
        return real_pass(texts)

    monkeypatch.setattr(minilm, "_embed_distinct", counted)
    results: dict[str, np.ndarray[Any, Any]] = {}

    def ask(text: str) -> None:
        (results[text],) = minilm.encode([text])

    def wait_until(condition: Any) -> None:
        for _ in range(10_000):
            if condition():
                return
            threading.Event().wait(0.001)
        raise AssertionError("timed out")

    threads = [threading.Thread(target=ask, args=(text,)) for text in SENTENCES]
    lanes = minilm.PASSES_AT_ONCE
    for number, thread in enumerate(threads[:lanes], start=1):
        thread.start()
        wait_until(lambda number=number: len(passes) == number)  # each takes a free lane
    for thread in threads[lanes:]:
        thread.start()
    waiting = len(SENTENCES) - lanes
    wait_until(lambda: len(minilm._together._queue) == waiting)
    gate.set()
    for thread in threads:
        thread.join(30)
    per_pass = minilm.REQUESTS_PER_PASS
    assert passes[:lanes] == [1] * lanes
    assert sorted(passes[lanes:], reverse=True) == [
        min(per_pass, waiting - start) for start in range(0, waiting, per_pass)
    ]  # the queued callers go through in as few passes as the per-pass cap allows
    for text in SENTENCES:
        assert results[text].shape == (minilm.MINILM_DIMENSION,)
        assert float(results[text] @ alone[text]) > 0.9999


def test_a_text_asked_for_twice_in_one_pass_is_encoded_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[list[str]] = []
    real_pass = minilm._embed_distinct

    def recorded(texts: list[str]) -> Any:
        seen.append(list(texts))
        return real_pass(texts)

    monkeypatch.setattr(minilm, "_embed_distinct", recorded)
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
