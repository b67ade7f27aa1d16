"""Texts being embedded right now are computed once: a second caller waits for the first."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np
import pytest
from numpy.typing import NDArray

from knowledge_base import embedding, minilm
from knowledge_base.embedding import MiniLMEmbedder, forget_cached_embeddings
from knowledge_base.in_flight import InFlight


def test_a_key_is_claimed_by_one_caller_until_released() -> None:
    running = InFlight()
    first = running.claim(["a", "b", "a"])
    second = running.claim(["b", "c"])
    assert first.mine == ["a", "b"] and first.others == []
    assert second.mine == ["c"] and len(second.others) == 1
    assert not second.others[0].is_set()
    running.release(first.mine)
    assert second.others[0].is_set()
    assert running.claim(["a"]).mine == ["a"]


class SlowModel:
    """Stands in for MiniLM's encode: records what it is asked and holds the first call
    until released, so that a second caller arrives while the text is in flight."""

    def __init__(self, fail: bool = False) -> None:
        self.asked: list[list[str]] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.fail = fail

    def __call__(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.asked.append(list(texts))
        if len(self.asked) == 1:
            self.started.set()
            self.release.wait(5)
            if self.fail:
                raise RuntimeError("model error")
        rows = np.zeros((len(texts), minilm.MINILM_DIMENSION), dtype=np.float32)
        rows[:, 0] = [len(text) for text in texts]
        return rows


@pytest.mark.parametrize("first_fails", [False, True])
def test_a_text_in_flight_is_awaited_not_computed_again(
    monkeypatch: pytest.MonkeyPatch, first_fails: bool
) -> None:
    forget_cached_embeddings()
    model = SlowModel(fail=first_fails)
    monkeypatch.setattr(minilm, "encode", model)
    embedder = MiniLMEmbedder()
    outcomes: dict[str, object] = {}

    def embed(name: str, texts: list[str]) -> None:
        try:
            outcomes[name] = embedder.embed(texts)
        except RuntimeError as error:
            outcomes[name] = error

    first = threading.Thread(target=embed, args=("first", ["in flight text"]))
    first.start()
    assert model.started.wait(5)
    second = threading.Thread(target=embed, args=("second", ["in flight text", "own text"]))
    second.start()
    time.sleep(0.2)  # the second caller computes its own text and waits for the other
    model.release.set()
    first.join(5)
    second.join(5)
    forget_cached_embeddings()
    if first_fails:
        # The first caller fails; the second computes the text itself after all.
        assert isinstance(outcomes["first"], RuntimeError)
        assert model.asked == [["in flight text"], ["own text"], ["in flight text"]]
    else:
        assert model.asked == [["in flight text"], ["own text"]]
    second_rows = outcomes["second"]
    assert isinstance(second_rows, np.ndarray)
    assert second_rows[:, 0].tolist() == [len("in flight text"), len("own text")]
    left_over = embedding._IN_FLIGHT.claim(["in flight text"])
    embedding._IN_FLIGHT.release(left_over.mine)
    assert left_over.mine == ["in flight text"], "a claim outlived its computation"
