"""Properties every detector keeps whatever it is given."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from evaluators.behaviours import DETECTORS, detect

WORDS = st.sampled_from(
    [
        "what", "how", "why", "do", "you", "is", "it", "tell", "me", "so", "feel", "that",
        "must", "have", "been", "frustrating", "calm", "down", "idiot", "cures", "may",
        "reduces", "next", "step", "I'll", "send", "by", "Friday", "right", "or", "not",
        "sounds", "like", "\u2019s", "don\u2019t", "um", "recap",
    ]
)
PUNCTUATION = st.sampled_from(["", " ", ", ", "? ", ". ", "! ", '"', "\n", "... ", " - "])
UTTERANCES = st.lists(st.tuples(WORDS, PUNCTUATION), max_size=30).map(
    lambda parts: " ".join(word + mark for word, mark in parts)
)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(UTTERANCES, st.text(max_size=200)), previous=st.none() | st.text())
def test_spans_lie_inside_the_text(text: str, previous: str | None) -> None:
    for name in DETECTORS:
        for hit in detect(name, text, previous):
            assert 0 <= hit.start < hit.end <= len(text)
            assert text[hit.start : hit.end].strip() == text[hit.start : hit.end]
            assert hit.detail


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(UTTERANCES, st.text(max_size=200)))
def test_a_question_is_open_or_closed_never_both(text: str) -> None:
    open_spans = {(hit.start, hit.end) for hit in detect("open_question", text)}
    closed_spans = [(hit.start, hit.end) for hit in detect("closed_question", text)]
    for start, end in closed_spans:
        assert all(end <= left or right <= start for left, right in open_spans)
    assert len(set(closed_spans)) == len(closed_spans)


@settings(max_examples=200, deadline=None)
@given(text=UTTERANCES)
def test_curly_and_straight_apostrophes_give_the_same_hits(text: str) -> None:
    straight = text.replace("\u2019", "'")
    curly = straight.replace("'", "\u2019")
    for name in DETECTORS:
        assert [(h.start, h.end) for h in detect(name, straight)] == [
            (h.start, h.end) for h in detect(name, curly)
        ]
