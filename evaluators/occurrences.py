"""Where a rule is breached in one utterance: occurrences, and the checks that find them.

An occurrence is a span of the utterance, why it breaches the rule, and its evidence (the
knowledge-base passage judged against, whether it is personal data). The session evaluator
turns occurrences into findings; this module holds the producers that need more than the
words alone: personal data, behaviours, and the knowledge-base checks (figures that contradict
a passage, statements no passage supports), with the passage search done at most once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from evaluators.behaviours import detect
from evaluators.findings import PassageEvidence
from evaluators.grounding import (
    PassageLike,
    contradictions,
    quantities,
    sentence_around,
    support_for,
)
from evaluators.matching import Matches, merge_overlaps
from evaluators.pii import find_pii
from policies.models import BehaviourRule, GroundingRule, LexicalRule, PiiRule


@dataclass(frozen=True)
class Occurrence:
    rule_id: str
    start: int
    end: int
    detail: str
    is_personal_data: bool = False
    passage: PassageEvidence | None = None


PassageSearch = Callable[[], Sequence[PassageLike]]


class PassageSource:
    """Passages fetched at most once, and only if a rule asks; a failed search is kept as
    `error` for the rules' on_error to decide."""

    def __init__(self, passages: Sequence[PassageLike] | PassageSearch) -> None:
        self._search = passages if callable(passages) else None
        self._passages: Sequence[PassageLike] | None = None if callable(passages) else passages
        self.error: str | None = None

    def get(self) -> Sequence[PassageLike]:
        if self._passages is None:
            assert self._search is not None
            try:
                self._passages = self._search()
            except Exception as error:  # the search's transport may raise anything
                self.error = str(error) or type(error).__name__
                self._passages = ()
        return self._passages


def ungrounded_occurrences(
    rule: LexicalRule, text: str, matches: Matches, source: PassageSource
) -> list[Occurrence]:
    """Matches of a rule with `unless: {grounded_in: knowledge_base}` that the knowledge base
    does not support, quoting the closest passage as the evidence it was judged against."""
    assert rule.unless is not None
    spans = merge_overlaps(matches.get((rule.id, "match"), []))
    found = []
    for span in spans:
        support = support_for(
            sentence_around(text, span.start), source.get(), rule.unless.min_similarity
        )
        if support.grounded:
            continue
        evidence = None
        if support.passage is not None:
            evidence = PassageEvidence(
                chunk_id=support.passage.chunk_id,
                document=support.passage.document,
                section=support.passage.section,
                quote=support.sentence,
            )
        detail = f"{span.detail}; {support.describe()}"
        found.append(Occurrence(rule.id, span.start, span.end, detail, passage=evidence))
    return found


def pii_occurrences(rule: PiiRule, text: str, final: bool) -> list[Occurrence]:
    """On a partial, data touching the end of the text may still be growing: wait for more."""
    return [
        Occurrence(rule.id, hit.start, hit.end, f"{hit.entity.value} ({hit.check})", True)
        for hit in find_pii(text, rule.entities, rule.default_region)
        if final or hit.end < len(text)
    ]


def behaviour_occurrences(
    rule: BehaviourRule, text: str, previous: str | None, final: bool
) -> list[Occurrence]:
    """On a partial, a hit touching the end of the text may still be growing: wait for more."""
    return [
        Occurrence(rule.id, hit.start, hit.end, hit.detail)
        for hit in detect(rule.detector.value, text, previous)
        if final or hit.end < len(text.rstrip())
    ]


def passage_evidence(passage: PassageLike, offset: int) -> PassageEvidence:
    return PassageEvidence(
        chunk_id=passage.chunk_id,
        document=passage.document,
        section=passage.section,
        quote=sentence_around(passage.text, offset),
    )


def contradiction_occurrences(
    rule: GroundingRule, text: str, source: PassageSource
) -> list[Occurrence]:
    if not quantities(text):
        return []
    passages = source.get()
    return [
        Occurrence(
            rule.id,
            found.claim.start,
            found.claim.end,
            found.describe(),
            passage=passage_evidence(found.passage, found.stated[0].start),
        )
        for found in contradictions(text, passages, rule.min_similarity)
    ]
