"""Sentences, words and quotations in an utterance, with offsets into the original text.

Every detector works on the same normalised view of the utterance: curly and modifier
apostrophes become `'` and curly double quotes become `"`. Each replacement is one code point
for one code point, so an offset in the normalised text is the same offset in the original and
spans can be reported against what the speaker actually said.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_SAME_LENGTH = str.maketrans(
    {
        "\u2019": "'",  # right single quotation mark, the usual typographic apostrophe
        "\u2018": "'",
        "\u02bc": "'",  # modifier letter apostrophe
        "\u2032": "'",  # prime, produced by some keyboards
        "\uff07": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u00a0": " ",
    }
)

# A sentence ends at . ! ? (or a run of them, or an ellipsis) followed by white space or the end,
# optionally after closing quotes or brackets; a line break always ends one.
_SENTENCE_END = re.compile(r"[.!?\u2026]+[\"')\]]*(?=\s|$)|\n+")
_ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "prof", "st", "vs", "etc", "e.g", "i.e", "approx", "no", "jr", "sr"}
)
_WORD = re.compile(r"[A-Za-z0-9]+(?:['\-][A-Za-z0-9]+)*")
_QUOTATION = re.compile(r'"[^"\n]{1,400}"')


def normalise(text: str) -> str:
    """Typographic apostrophes and quotes as ASCII, offsets unchanged."""
    return text.translate(_SAME_LENGTH)


@dataclass(frozen=True)
class Sentence:
    """A sentence of the normalised utterance; `text` excludes the surrounding white space."""

    start: int
    end: int
    text: str

    @property
    def is_question(self) -> bool:
        return self.text.rstrip("\"')] ").endswith("?")


def sentences(text: str) -> list[Sentence]:
    """Split normalised text into sentences, keeping each one's span.

    Abbreviations such as "Dr." and decimal points ("2.5") do not end a sentence.
    """
    found: list[Sentence] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if match.group().startswith(".") and _is_abbreviation(text, match.start()):
            continue
        _append(found, text, start, match.end())
        start = match.end()
    _append(found, text, start, len(text))
    return found


def _is_abbreviation(text: str, dot: int) -> bool:
    word_start = dot
    while word_start > 0 and (text[word_start - 1].isalpha() or text[word_start - 1] == "."):
        word_start -= 1
    return text[word_start:dot].lower() in _ABBREVIATIONS


def _append(found: list[Sentence], text: str, start: int, end: int) -> None:
    chunk = text[start:end]
    stripped = chunk.strip()
    if not stripped or not any(char.isalnum() for char in stripped):
        return
    left = start + (len(chunk) - len(chunk.lstrip()))
    found.append(Sentence(left, left + len(stripped), stripped))


@dataclass(frozen=True)
class Word:
    start: int
    end: int
    text: str  # lower case


def words(text: str, offset: int = 0) -> list[Word]:
    """Lower-cased words with spans (shifted by `offset`); apostrophes and hyphens stay inside."""
    return [
        Word(match.start() + offset, match.end() + offset, match.group().lower())
        for match in _WORD.finditer(text)
    ]


def quotations(text: str) -> list[tuple[int, int]]:
    """Spans of double-quoted passages: words the speaker reports rather than says."""
    return [(match.start(), match.end()) for match in _QUOTATION.finditer(text)]


def inside(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(left <= start and end <= right for left, right in spans)


def iter_clauses(sentence: Sentence) -> Iterator[tuple[int, str]]:
    """Clauses of a sentence split at , ; : and dashes, as (offset in utterance, text)."""
    position = 0
    for piece in re.split(r"(\s*(?:[,;:]|--+|\s-\s|\u2013|\u2014)\s*)", sentence.text):
        if piece and not re.fullmatch(r"\s*(?:[,;:]|--+|\s-\s|\u2013|\u2014)\s*", piece):
            yield sentence.start + position, piece
        position += len(piece)


_STOPWORDS = frozenset(
    {
        "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any",
        "are", "aren't", "as", "at", "be", "because", "been", "before", "being", "below", "between",
        "both", "but", "by", "can", "can't", "cannot", "could", "couldn't", "did", "didn't", "do",
        "does", "doesn't", "doing", "don't", "down", "during", "each", "even", "ever", "every",
        "few", "for", "from", "further", "get", "gets", "getting", "got", "had", "hadn't", "has",
        "hasn't", "have", "haven't", "having", "he", "he'd", "he'll", "he's", "her", "here",
        "here's", "hers", "herself", "him", "himself", "his", "how", "how's", "i", "i'd", "i'll",
        "i'm", "i've", "if", "in", "into", "is", "isn't", "it", "it's", "its", "itself", "just",
        "kind", "know", "let", "let's", "like", "lot", "me", "more", "most", "much", "must",
        "mustn't", "my", "myself", "no", "nor", "not", "now", "of", "off", "oh", "ok", "okay", "on",
        "once", "only", "or", "other", "ought", "our", "ours", "ourselves", "out", "over", "own",
        "really", "right", "said", "same", "say", "says", "she", "she'd", "she'll", "she's",
        "should", "shouldn't", "so", "some", "something", "sort", "such", "than", "that", "that's",
        "the", "their", "theirs", "them", "themselves", "then", "there", "there's", "these", "they",
        "they'd", "they'll", "they're", "they've", "thing", "things", "think", "this", "those",
        "though", "through", "to", "too", "uh", "um", "under", "until", "up", "upon", "us", "very",
        "was", "wasn't", "way", "we", "we'd", "we'll", "we're", "we've", "well", "were", "weren't",
        "what", "what's", "when", "when's", "where", "where's", "which", "while", "who", "who's",
        "whom", "why", "why's", "will", "with", "won't", "would", "wouldn't", "yeah", "yes", "you",
        "you'd", "you'll", "you're", "you've", "your", "yours", "yourself", "yourselves",
    }
)


def stem(word: str) -> str:
    """A deliberately crude stem so "worried"/"worrying"/"worries" share one form."""
    for suffix in ("ing", "ied", "ies", "ed", "es", "ly", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    """Stems of the words that carry meaning (no function words, no one- or two-letter words)."""
    return {
        stem(word.text)
        for word in words(normalise(text))
        if len(word.text) > 2 and word.text not in _STOPWORDS and not word.text.isdigit()
    }
