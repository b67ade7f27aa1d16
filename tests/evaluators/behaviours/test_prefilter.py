"""The Hyperscan prefilter never hides a match of the expressions it stands in front of."""

from __future__ import annotations

import re
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaluators.behaviours import disrespect, offensive_words
from evaluators.behaviours.prefilter import RegexPrefilter
from evaluators.behaviours.text import normalise

EXPRESSIONS = (
    disrespect._PHRASE,
    disrespect._AIMED,
    disrespect._INSULT_NOUN,
    disrespect._PROFANITY,
    disrespect._SLUR,
)


def _plain_word(entry: str) -> str:
    """A lexicon entry as a word someone could say ('idiot\\w*' -> 'idiot')."""
    return re.sub(r"\\w\*|\?|\(\?:|\)|\[[^]]*\]|\\\*\+|[+*|\\]", "", entry.split("|")[0])


LEXICON = sorted(
    {
        _plain_word(entry)
        for words in (
            offensive_words.AIMED_NOUNS,
            offensive_words.INSULT_ADJECTIVES,
            offensive_words.INSULT_NOUNS,
            offensive_words.PROFANITY,
            offensive_words.SLURS,
        )
        for entry in words
    }
    - {""}
)
CUES = re.findall(
    r"\S+",
    "calm down you are what a such an are you you're it's not rocket science get over it "
    "relax whatever so what not my problem you people as i told you stupid question shut up "
    "i'm probably that's don't be silly who cares bunch of with all due respect",
)
NEUTRAL = re.findall(r"\S+", "the trial doctor label patients dose risk I we can't guarantee")
SEPARATORS = [" ", "  ", ", ", ". ", "! ", "? ", "\n", "\t", "\x1c", "\u00a0", "\u2003", "\u2019"]
ODD_LETTERS = ["\u212a", "\u017f", "\u0130", "\u00e9", "\u00df"]  # Kelvin, long s, dotted I


def _cased(word: str, style: int) -> str:
    return (word, word.upper(), word.capitalize())[style]


TEXTS = st.lists(
    st.tuples(
        st.sampled_from(LEXICON + CUES + NEUTRAL),
        st.integers(0, 2),
        st.sampled_from([*SEPARATORS, ""]),
        st.sampled_from([""] * 6 + ODD_LETTERS),
    ),
    max_size=12,
).map(lambda parts: "".join(_cased(w, c) + odd + sep for w, c, sep, odd in parts))


def _exact(text: str) -> list[object]:
    with patch.object(disrespect.MAY_OFFEND, "may_match", lambda text: True):
        return list(disrespect.detect_disrespect(text))


@settings(max_examples=400, deadline=None)
@given(TEXTS)
def test_no_candidate_is_ever_filtered_out(text: str) -> None:
    normalised = normalise(text)
    if any(True for _ in disrespect._candidates(normalised)):
        assert disrespect.MAY_OFFEND.may_match(normalised)
    assert disrespect.detect_disrespect(text) == _exact(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text_gets_the_exact_answer(text: str) -> None:
    assert disrespect.detect_disrespect(text) == _exact(text)


def test_ordinary_detailing_is_filtered_and_cues_are_not() -> None:
    may = disrespect.MAY_OFFEND.may_match
    assert not may("In the pivotal trial it lowered systolic pressure by 11 mmHg, Dr Patel.")
    assert not may("The most common side effects were fatigue and dizziness.")
    assert may("you are an idiot")
    assert may("WHATEVER.")


def test_text_outside_plain_ascii_is_always_left_to_the_expressions() -> None:
    # Python's \s matches \x1c and its case folding maps the Kelvin sign onto k: Hyperscan
    # reads neither that way, so such text must not be judged by the prefilter.
    assert disrespect._PHRASE.search("calm\x1cdown")
    assert disrespect.MAY_OFFEND.may_match("calm\x1cdown")
    assert disrespect.detect_disrespect("calm\x1cdown") != []
    assert disrespect._INSULT_NOUN.search("\u212anobhead")  # with a Kelvin sign for the k
    assert disrespect.MAY_OFFEND.may_match("\u212anobhead")
    assert disrespect.MAY_OFFEND.may_match("plain words and one \u00e9")


def test_patterns_hyperscan_would_read_differently_are_refused() -> None:
    with pytest.raises(ValueError, match="ASCII"):
        RegexPrefilter([re.compile("caf\u00e9", re.IGNORECASE)])
    with pytest.raises(ValueError, match="IGNORECASE"):
        RegexPrefilter([re.compile("^calm$", re.MULTILINE)])


def test_separate_prefilters_compile_once_and_answer_alike() -> None:
    prefilter = RegexPrefilter(EXPRESSIONS)
    assert prefilter.compile() is prefilter.compile()
    for text in ("so what", "the label says", "you people", "a fine question"):
        assert prefilter.may_match(text) == disrespect.MAY_OFFEND.may_match(text)
