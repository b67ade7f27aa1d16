"""Embedding a learner's settled clauses while they speak, so that their final finds them
cached: which texts are settled, how the background prefetcher behaves, and, over a real
WebSocket with the real model, that a final repeating its partials needs no model work."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluators.semantic import (
    Clause,
    clauses,
    ends_sentence,
    settled_clauses,
    settles_no_more_than,
)
from knowledge_base import minilm
from server.prefetch import EmbeddingPrefetcher
from tests.server.conftest import bearer
from tests.server.test_sessions import Message, connect, event_type, publish, receive_until
from tests.server.test_streaming import final, partial


def texts(found: Sequence[Clause]) -> list[str]:
    return [clause.text for clause in found]


def test_a_clause_is_settled_once_a_boundary_closes_it() -> None:
    assert settled_clauses("Velmora lowers blood pressure") == []
    assert texts(settled_clauses("Velmora lowers blood pressure, but some")) == [
        "Velmora lowers blood pressure"
    ]
    assert texts(settled_clauses("It is well tolerated. Many doctors use")) == [
        "It is well tolerated."
    ]


def test_the_last_clause_settles_when_the_text_ends_a_sentence() -> None:
    text = "It is well tolerated. Many doctors use it for migraine."
    assert ends_sentence(text) and ends_sentence(text + "  ")
    assert texts(settled_clauses(text)) == texts(clauses(text))
    assert not ends_sentence("a dose of 3 mg") and not ends_sentence("")


# Mostly plain words and spaces, so that runs of three or more words (a clause) are common.
WORDS = st.sampled_from(
    ["it", "is", "safe", "rare", "But", "however", "butter", "3.5", "risk-free", "ok.", "no,"]
)
SEPARATORS = st.sampled_from([" ", " ", " ", " ", "  ", "\n", ". ", ", ", "; ", " - ", "\u2026 "])


@st.composite
def growing_partials(draw: st.DrawFn) -> tuple[str, str]:
    """A partial transcript and a later one: the same words and usually more (cut at a
    word's end, as a recogniser sends them), or cut anywhere."""
    words = draw(st.lists(WORDS, min_size=1, max_size=12))
    separators = [draw(SEPARATORS) for _ in words[1:]]
    pieces = [words[0]] + [sep + word for sep, word in zip(separators, words[1:], strict=True)]
    text = "".join(pieces)
    if draw(st.booleans()):
        return "".join(pieces[: draw(st.integers(0, len(pieces)))]), text
    return text[: draw(st.integers(0, len(text)))], text


@settings(max_examples=1000)
@given(growing_partials())
def test_words_that_close_no_clause_settle_nothing_new(partials: tuple[str, str]) -> None:
    previous, text = partials
    if settles_no_more_than(previous, text):
        assert texts(settled_clauses(text)) == texts(settled_clauses(previous))


@pytest.mark.parametrize(
    "added",
    [". Many", "; many", ", but rare", " but rare", " However rare", " although rare",
     " whereas rare", "\nMany", " - many", " -- many", "\u2026 many", "! Many", "? Many"],
)  # fmt: skip
def test_words_that_may_close_a_clause_are_never_skipped(added: str) -> None:
    previous = "It is well tolerated"
    assert not settles_no_more_than(previous, previous + added)
    assert texts(settled_clauses(previous + added)) != texts(settled_clauses(previous))


def test_plain_words_are_skipped_but_not_a_word_cut_short_or_a_revision() -> None:
    assert settles_no_more_than("It is well", "It is well tolerated by most butter")
    # A dash closes a clause only once a space follows it: found by hypothesis.
    assert not settles_no_more_than("risk-free, no, -", "risk-free, no, - it")
    assert texts(settled_clauses("risk-free, no, - it")) == ["risk-free, no,"]
    assert not settles_no_more_than("a dose of 3", "a dose of 3.5")  # no space first
    assert not settles_no_more_than("a dose of 3", "a dose of 4 mg")  # a revision


class RecordingEmbedder:
    def __init__(self, fail_on: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.release = threading.Event()
        self.release.set()
        self.entered = threading.Event()
        self._fail_on = fail_on

    def embed(self, texts: Sequence[str]) -> object:
        self.entered.set()
        self.release.wait(5)
        self.calls.append(list(texts))
        if self._fail_on in texts:
            raise RuntimeError("model error")
        return None


def test_a_newer_offer_replaces_the_waiting_one_of_its_session() -> None:
    embedder = RecordingEmbedder()
    embedder.release.clear()  # hold the thread on the first offer
    prefetcher = EmbeddingPrefetcher(lambda: embedder)
    try:
        prefetcher.offer("s1", ["first"])
        prefetcher.offer("s2", ["other session"])
        prefetcher.offer("s2", ["other session", "more"])
        embedder.release.set()
        assert prefetcher.wait_idle(5)
        # "first" may be taken alone before the others arrive, or with them in one batch;
        # either way s2's first offer was replaced, never embedded on its own.
        assert [text for call in embedder.calls for text in call] == [
            "first",
            "other session",
            "more",
        ]
    finally:
        prefetcher.close()


def test_a_failed_prefetch_is_dropped_and_the_thread_carries_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    embedder = RecordingEmbedder(fail_on="bad")
    prefetcher = EmbeddingPrefetcher(lambda: embedder)
    try:
        prefetcher.offer("s1", ["bad"])
        assert prefetcher.wait_idle(5)
        prefetcher.offer("s1", ["good"])
        assert prefetcher.wait_idle(5)
    finally:
        prefetcher.close()
    assert embedder.calls == [["bad"], ["good"]]
    assert "prefetching embeddings for sessions s1 failed" in caplog.text


def test_nothing_is_taken_after_close() -> None:
    embedder = RecordingEmbedder()
    prefetcher = EmbeddingPrefetcher(lambda: embedder)
    prefetcher.close()
    prefetcher.offer("s1", ["late"])
    assert prefetcher.wait_idle(1)
    assert embedder.calls == []


def echo_of(revision: int) -> Callable[[Message], bool]:
    return lambda message: message.get("event", {}).get("revision") == revision


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_final_that_repeats_its_partials_needs_no_model_work(
    client: TestClient, app: FastAPI, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from policies import pack_path

    publish(app, (pack_path("pharma") / "policy.yaml").read_text(encoding="utf-8"))
    created = client.post(
        "/v1/sessions",
        json={"policy_id": "pharma-detailing-us", "scenario": "pharma/gp_visit.yaml"},
        headers=bearer(keys["learner"]),
    )
    assert created.status_code == 201, created.text
    session_id = created.json()["session_id"]
    encoded: list[str] = []
    real_encode = minilm.encode

    def recording_encode(batch: Sequence[str]) -> object:
        encoded.extend(batch)
        return real_encode(batch)

    monkeypatch.setattr(minilm, "encode", recording_encode)
    # Words no earlier test or cache can have seen: every clause is a first hearing.
    line = (
        "Doctor Quillfeather, Velmora lowered systolic pressure by eleven points, "
        "but many colleagues now prescribe it for stubborn migraine."
    )
    words = line.split()
    prefetcher = app.state.service.live.prefetcher
    offered: list[list[str]] = []
    real_offer = prefetcher.offer

    def recording_offer(session: str, texts: Sequence[str], *, final_is_near: bool) -> None:
        offered.append(list(texts))
        real_offer(session, texts, final_is_near=final_is_near)

    monkeypatch.setattr(prefetcher, "offer", recording_offer)
    with connect(client, session_id, keys["learner"]) as socket:
        receive_until(socket, event_type("persona.final"))  # the opening line
        for revision in range(len(words)):
            socket.send_json(partial("u1", revision, " ".join(words[: revision + 1])))
            receive_until(socket, echo_of(revision))
        assert prefetcher.wait_idle(30)
        prefetched = set(encoded)
        encoded.clear()
        socket.send_json(final("u1", line))
        reply = receive_until(socket, event_type("persona.final"))
    first, second = texts(clauses(line))
    # One offer per newly settled clause, not one per word: a word that settles nothing
    # new would only wake the prefetch thread to find its texts cached.
    assert offered == [[first], [first, second, line]]
    needed = {first, second, line}
    assert needed <= prefetched
    assert not needed & set(encoded), "the final embedded again what was prefetched"
    assert any(m["event"]["type"] == "flag.raised" for m in reply)


def test_offers_whose_final_is_near_are_served_first() -> None:
    embedder = RecordingEmbedder()
    embedder.release.clear()
    prefetcher = EmbeddingPrefetcher(lambda: embedder)
    try:
        prefetcher.offer("busy", ["holds the thread"])
        assert embedder.entered.wait(5)  # the thread is busy with the first offer
        prefetcher.offer("s1", ["early clause", *(f"filler {n}" for n in range(20))])
        prefetcher.offer("s2", ["Sentence that ends."], final_is_near=True)
        embedder.release.set()
        assert prefetcher.wait_idle(5)
    finally:
        prefetcher.close()
    assert embedder.calls[1][0] == "Sentence that ends."
