"""Match sentences by meaning: one normalised exemplar matrix per compiled policy.

Every `semantic` example (and `unlike` counter-example) of every rule is embedded once, when the
policy is compiled, into a single matrix. A final utterance is cut into clauses; the clauses are
embedded in one batch and compared with the whole matrix in one product, so the cost per
utterance does not grow with the number of rules.

Sentence embeddings are nearly blind to negation and attribution: "it is risk-free" and "some
reps say it's risk-free, but it isn't" are close. So a clause that is near an example must also
be *asserted* (see `evaluators.assertion`) before it counts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from policies.models import SemanticMatch


class SentenceEmbedder(Protocol):
    """Texts to L2-normalised float32 rows (knowledge_base embedders fit)."""

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]: ...


MatcherKey = tuple[str, str]
"""(owner id, field): the rule or objective a `Match` belongs to and which of its fields."""

_SENTENCE_END_MARKS = (".", "!", "?", "\u2026")
_SENTENCE_END = re.compile(r"[.!?\u2026]+(?=\s|$)")
_CLAUSE_BOUNDARY = re.compile(
    r"[.!?;\u2026]+(?=\s|$)|\n|,?\s+(?:but|however|although|whereas)\b|\s+-{1,2}\s+",
    re.IGNORECASE,
)
_MIN_CLAUSE_WORDS = 3
_WORD = re.compile(r"[\w'\u2019]+")


@dataclass(frozen=True)
class Clause:
    """A stretch of an utterance judged on its own, in character offsets."""

    start: int
    end: int
    text: str


def clauses(text: str) -> list[Clause]:
    """Sentences, further cut at contrastive conjunctions; fragments of fewer than three
    words are left out (they carry too little meaning to compare). A sentence keeps its end
    mark, so a one-sentence utterance is its own single clause, word for word: embedded once,
    it is already cached when the knowledge base is searched for the same text."""
    found: list[Clause] = []
    start = 0
    for boundary in [*_CLAUSE_BOUNDARY.finditer(text), None]:
        end = boundary.start() if boundary else len(text)
        if boundary and _SENTENCE_END.fullmatch(boundary.group()):
            end = boundary.end()
        piece = text[start:end]
        stripped = piece.strip()
        if len(_WORD.findall(stripped)) >= _MIN_CLAUSE_WORDS:
            offset = start + (len(piece) - len(piece.lstrip()))
            found.append(Clause(offset, offset + len(stripped), stripped))
        if boundary:
            start = boundary.end()
    return found


def ends_sentence(text: str) -> bool:
    """Whether `text` ends with a sentence's end mark (trailing spaces aside)."""
    return text.rstrip().endswith(_SENTENCE_END_MARKS)


def settled_clauses(text: str) -> list[Clause]:
    """The clauses of a partial transcript that more words cannot change: every clause a
    boundary has closed, and the last one too once the text ends a sentence. The final
    transcript usually begins with the same words, so these are the clauses its semantic
    check will embed; embedding them while the learner is still speaking takes that work
    off the path from the final to its flags."""
    found = clauses(text)
    if found and not text[found[-1].end :].strip() and not ends_sentence(text):
        found.pop()
    return found


_MAY_CLOSE_A_CLAUSE = re.compile(
    r"[.!?;,\n\u2026-]|\b(?:but|however|although|whereas)\b", re.IGNORECASE
)


def settles_no_more_than(previous: str, text: str) -> bool:
    """Whether `text` is `previous` plus whole words that can close no clause, so that
    `settled_clauses(text)` is `settled_clauses(previous)`: a caller that follows a growing
    partial transcript skips cutting it into clauses again for most words (that was a
    twelfth of a server's event-loop time per partial). False whenever unsure."""
    if not text.startswith(previous) or previous.endswith("-"):
        return False  # a revision, or a dash that the next space makes a boundary
    added = text[len(previous) :]
    return added[:1].isspace() and _MAY_CLOSE_A_CLAUSE.search(added) is None


@dataclass(frozen=True)
class SemanticHit:
    """A clause close to one of a matcher's examples."""

    key: MatcherKey
    clause: Clause
    example: str
    similarity: float

    def describe(self) -> str:
        return f'close in meaning to "{self.example}" (similarity {self.similarity:.2f})'


@dataclass(frozen=True)
class _Matcher:
    key: MatcherKey
    examples: tuple[int, ...]
    unlike: tuple[int, ...]
    threshold: float


class ExemplarIndex:
    """All semantic matchers of one policy over one exemplar matrix."""

    def __init__(
        self, matches: Sequence[tuple[MatcherKey, SemanticMatch]], embedder: SentenceEmbedder
    ) -> None:
        texts: list[str] = []
        matchers: list[_Matcher] = []
        for key, match in matches:
            first = len(texts)
            texts += match.examples
            middle = len(texts)
            texts += match.unlike
            matchers.append(
                _Matcher(
                    key,
                    tuple(range(first, middle)),
                    tuple(range(middle, len(texts))),
                    match.threshold,
                )
            )
        self._texts = tuple(texts)
        self._matchers = tuple(matchers)
        self._embedder = embedder
        self._matrix = _unit_rows(embedder.embed(texts)) if texts else np.zeros((0, 1), "f4")

    @property
    def keys(self) -> tuple[MatcherKey, ...]:
        return tuple(matcher.key for matcher in self._matchers)

    def __len__(self) -> int:
        return len(self._matchers)

    def embed_clauses(
        self, text: str, also: Sequence[str] = ()
    ) -> tuple[list[Clause], NDArray[np.float32]]:
        """The utterance's clauses and their unit embeddings. Texts in `also` (e.g. the
        whole utterance, about to be searched in the knowledge base) join the same batch so
        that the embedder's cache holds them: one model call instead of two."""
        found = clauses(text)
        if not found:
            return [], np.zeros((0, self._matrix.shape[1]), dtype=np.float32)
        pieces = [clause.text for clause in found]
        extra = [item for item in also if item not in pieces]
        vectors = self._embedder.embed(pieces + extra)[: len(pieces)]
        return found, _unit_rows(vectors)

    def search(
        self, found: Sequence[Clause], vectors: NDArray[np.float32]
    ) -> dict[MatcherKey, list[SemanticHit]]:
        """For each matcher, the clauses at or above its threshold and nearer to an example
        than to any counter-example."""
        hits: dict[MatcherKey, list[SemanticHit]] = {}
        if not found or not self._matchers:
            return hits
        similarities = vectors @ self._matrix.T
        for matcher in self._matchers:
            examples = similarities[:, matcher.examples]
            best = examples.argmax(axis=1)
            best_scores = examples[np.arange(len(found)), best]
            rivals = (
                similarities[:, matcher.unlike].max(axis=1)
                if matcher.unlike
                else np.full(len(found), -1.0)
            )
            for row, clause in enumerate(found):
                score = float(best_scores[row])
                if score >= matcher.threshold and score > float(rivals[row]):
                    example = self._texts[matcher.examples[int(best[row])]]
                    hits.setdefault(matcher.key, []).append(
                        SemanticHit(matcher.key, clause, example, round(score, 4))
                    )
        return hits

    def nearest(self, text: str) -> dict[MatcherKey, float]:
        """Each matcher's best example similarity over the text's clauses, whatever its
        threshold: for calibrating thresholds, not for deciding."""
        found, vectors = self.embed_clauses(text)
        if not found:
            return {matcher.key: 0.0 for matcher in self._matchers}
        similarities = vectors @ self._matrix.T
        return {
            matcher.key: round(float(similarities[:, matcher.examples].max()), 4)
            for matcher in self._matchers
        }

    def match(self, text: str, also: Sequence[str] = ()) -> dict[MatcherKey, list[SemanticHit]]:
        found, vectors = self.embed_clauses(text, also)
        return self.search(found, vectors)


def _unit_rows(rows: NDArray[np.float32]) -> NDArray[np.float32]:
    """Embedders promise unit rows; normalising again costs little and guards the dot product."""
    matrix = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    unit: NDArray[np.float32] = matrix / norms
    return unit
