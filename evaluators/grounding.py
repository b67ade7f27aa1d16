"""Does a statement contradict the knowledge base? Quantities are the part we can check exactly.

A claim such as "it lowered systolic pressure by 20 mmHg" is compared with the most similar
approved passage: if that passage states quantities in the same unit and none of them is the
claimed value, the claim contradicts it. Statements without a unit (years, counts of things the
passage does not mention) are not judged: silence is not contradiction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from evaluators.context import negation_differs

_UNIT_ALIASES = {
    "percent": "%",
    "per cent": "%",
    "%": "%",
    "mmhg": "mmhg",
    "mg": "mg",
    "milligrams": "mg",
    "ml": "ml",
    "kg": "kg",
    "week": "week",
    "weeks": "week",
    "month": "month",
    "months": "month",
    "year": "year",
    "years": "year",
    "day": "day",
    "days": "day",
    "hour": "hour",
    "hours": "hour",
    "adults": "patients",
    "patients": "patients",
    "people": "patients",
    "participants": "patients",
}
_QUANTITY = re.compile(
    r"(?<![\w.])(?P<value>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(?:-\s*)?"
    r"(?:(?:working|business|calendar)\s+)?"
    r"(?P<unit>%|per ?cent|mmhg|mg|milligrams|ml|kg|weeks?|months?|years?|days?|hours?"
    r"|adults|patients|people|participants)(?!\w)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Quantity:
    value: float
    unit: str
    start: int
    end: int
    text: str


class PassageLike(Protocol):
    """What grounding needs of a knowledge-base passage (knowledge_base.Passage fits)."""

    @property
    def chunk_id(self) -> str: ...
    @property
    def document(self) -> str: ...
    @property
    def section(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def score(self) -> float: ...


@dataclass(frozen=True)
class Contradiction:
    claim: Quantity
    passage: PassageLike
    stated: tuple[Quantity, ...]

    def describe(self) -> str:
        said = ", ".join(q.text for q in self.stated)
        where = f"{self.passage.document}" + (
            f" \u00a7 {self.passage.section}" if self.passage.section else ""
        )
        return f'unsubstantiated: states "{self.claim.text}"; {where} says {said}'


def quantities(text: str) -> list[Quantity]:
    found = []
    for match in _QUANTITY.finditer(text):
        unit = _UNIT_ALIASES[match.group("unit").lower().replace("  ", " ")]
        value = float(match.group("value").replace(",", ""))
        found.append(Quantity(value, unit, match.start(), match.end(), match.group()))
    return found


def contradictions(
    text: str, passages: Sequence[PassageLike], min_similarity: float
) -> list[Contradiction]:
    """Quantities in `text` that the most similar passage (above `min_similarity`) states
    differently in the same unit."""
    relevant = [p for p in passages if p.score >= min_similarity]
    if not relevant:
        return []
    best = max(relevant, key=lambda passage: passage.score)
    approved = quantities(best.text)
    found = []
    for claim in quantities(text):
        same_unit = tuple(q for q in approved if q.unit == claim.unit)
        if same_unit and all(abs(q.value - claim.value) > 1e-9 for q in same_unit):
            found.append(Contradiction(claim, best, same_unit))
    return found


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n\s*\n")


def sentence_around(text: str, offset: int) -> str:
    """The sentence (or line) of `text` that contains `offset`: the part worth quoting."""
    start = 0
    for boundary in _SENTENCE_END.finditer(text):
        if boundary.start() >= offset:
            return _one_line(text[start : boundary.start()])
        start = boundary.end()
    return _one_line(text[start:])


def _one_line(text: str) -> str:
    """Wrapped source lines read as one sentence."""
    return " ".join(text.split())


_CONTENT_WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019-]{3,}")
_FUNCTION_WORDS = frozenset(
    [
        "about", "also", "been", "being", "both", "could", "does", "doing", "done", "each", "even",
        "every", "from", "have", "having", "here", "into", "just", "like", "lots", "many", "more",
        "most", "much", "must", "only", "other", "over", "really", "same", "should", "some", "such",
        "than", "that", "their", "them", "then", "there", "these", "they", "this", "those", "very",
        "were", "what", "when", "where", "which", "while", "will", "with", "would", "your", "yours",
        "actually", "basically",
    ]
)
SUPPORT_MIN_COVERAGE = 0.5


def _stem(word: str) -> str:
    """Five leading letters: enough to equate "migraines" and "migraine" without a stemmer."""
    return word.lower()[:5]


def content_stems(text: str) -> set[str]:
    return {
        _stem(word)
        for word in _CONTENT_WORD.findall(text)
        if word.lower() not in _FUNCTION_WORDS
    }


@dataclass(frozen=True)
class Support:
    """How well the closest passage backs a statement: the passage, its sentence that shares
    most of the statement's content words, and the share of those words found there."""

    passage: PassageLike | None
    sentence: str
    coverage: float
    same_polarity: bool
    close_enough: bool = True

    @property
    def grounded(self) -> bool:
        return (
            self.passage is not None
            and self.close_enough
            and self.coverage >= SUPPORT_MIN_COVERAGE
            and self.same_polarity
        )

    def describe(self) -> str:
        if self.passage is None:
            return "no knowledge-base passage supports it"
        where = self.passage.document + (
            f" \u00a7 {self.passage.section}" if self.passage.section else ""
        )
        denied = "" if self.same_polarity else ", which says the opposite"
        if not self.close_enough:
            denied += ", too far from the statement to support it"
        return (
            f"not supported by the knowledge base (closest: {where}, similarity "
            f"{self.passage.score:.2f}, {self.coverage:.0%} of its terms found{denied})"
        )


def _sentences(text: str) -> list[str]:
    return [_one_line(part) for part in _SENTENCE_END.split(text) if part.strip()]


def _best_sentence(stems: set[str], passage: PassageLike) -> tuple[str, float]:
    best, coverage = "", 0.0
    for sentence in _sentences(passage.text):
        share = len(stems & content_stems(sentence)) / len(stems) if stems else 1.0
        if share > coverage or not best:
            best, coverage = sentence, share
    return best, coverage


def support_for(statement: str, passages: Sequence[PassageLike], min_similarity: float) -> Support:
    """A statement is grounded when a passage at least `min_similarity` close to it has a
    sentence with most of its content words and the same polarity: similarity alone would let
    "approved for migraine" borrow the support of "approved for hypertension", and shared words
    alone that of "not established in migraine"."""
    stems = content_stems(statement)
    best = Support(None, "", 0.0, True)
    for passage in sorted(passages, key=lambda item: item.score, reverse=True):
        sentence, coverage = _best_sentence(stems, passage)
        candidate = Support(
            passage,
            sentence,
            coverage,
            not negation_differs(statement, sentence),
            passage.score >= min_similarity,
        )
        if candidate.grounded:
            return candidate
        if best.passage is None or coverage > best.coverage:
            best = candidate
    return best
