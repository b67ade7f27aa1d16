"""Where each `Match` of a policy occurs in one utterance, lexically and by meaning.

Both kinds of hit are judged the same way before they count: a negated or quoted mention is not
an assertion (unless the rule says otherwise). Lexical hits are judged on the words to their
left, so partial transcripts get the same answer as the final one; semantic hits are judged on
their clause (polarity against the example, attribution to others, an immediate rebuttal).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from evaluators.context import (
    is_attributed,
    is_negated,
    is_quoted,
    is_rebutted,
    negation_differs,
)
from evaluators.lexical import LexicalHit
from evaluators.plan import Matcher, PolicyPlan
from evaluators.semantic import MatcherKey, SemanticHit, ends_sentence, settled_clauses
from policies.models import Negation, Quotation, Speaker


@dataclass(frozen=True)
class MatchedSpan:
    """One occurrence of a `Match` in an utterance, with why it matched."""

    start: int
    end: int
    detail: str
    similarity: float | None = None


Matches = dict[MatcherKey, list[MatchedSpan]]


def lexical_matches(
    plan: PolicyPlan, hits: Iterable[LexicalHit], text: str, speaker: Speaker
) -> Matches:
    """Asserted lexical hits of every matcher that applies to the speaker."""
    found: Matches = {}
    for hit in hits:
        pattern = plan.pattern(hit.pattern_id)
        matcher = plan.matcher(pattern.key)
        if matcher.speaker is speaker and _asserted_at(matcher, text, hit.start):
            found.setdefault(matcher.key, []).append(
                MatchedSpan(hit.start, hit.end, pattern.describe())
            )
    return found


def semantic_matches(plan: PolicyPlan, text: str, speaker: Speaker) -> Matches:
    """Asserted clauses close in meaning to a matcher's examples. Embedding errors propagate:
    the caller decides, per rule, whether to fail closed. When the speaker's rules may search
    the knowledge base, the whole text is embedded in the same batch (see ExemplarIndex)."""
    if plan.semantic is None or not any(
        plan.matcher(key).speaker is speaker for key in plan.semantic.keys
    ):
        return {}
    found: Matches = {}
    also = (text,) if plan.needs_passages(speaker) else ()
    for key, hits in plan.semantic.match(text, also).items():
        matcher = plan.matcher(key)
        if matcher.speaker is not speaker:
            continue
        for hit in hits:
            if _clause_asserted(matcher, text, hit):
                found.setdefault(key, []).append(
                    MatchedSpan(hit.clause.start, hit.clause.end, hit.describe(), hit.similarity)
                )
    return found


def texts_to_prefetch(plan: PolicyPlan, partial_text: str, speaker: Speaker) -> list[str]:
    """Texts `semantic_matches` will embed for a final transcript that starts with
    `partial_text`, as far as more words cannot change them: its settled clauses, and the
    whole text once it ends a sentence (the knowledge-base search and a persona's reply
    embed the whole line). Embedding these while the speaker is still talking means the
    final finds them cached."""
    texts: list[str] = []
    if plan.semantic is not None and any(
        plan.matcher(key).speaker is speaker for key in plan.semantic.keys
    ):
        texts += [clause.text for clause in settled_clauses(partial_text)]
    if ends_sentence(partial_text):
        texts.append(partial_text)
    return list(dict.fromkeys(texts))


def merged(*sources: Matches) -> Matches:
    """One list per matcher, in text order, overlapping spans joined."""
    keys = {key for source in sources for key in source}
    return {
        key: merge_overlaps([span for source in sources for span in source.get(key, [])])
        for key in keys
    }


def merge_overlaps(spans: Sequence[MatchedSpan]) -> list[MatchedSpan]:
    """One span per stretch of text: open-ended phrases report every word ending."""
    result: list[MatchedSpan] = []
    for span in sorted(spans, key=lambda item: (item.start, -item.end)):
        if result and span.start < result[-1].end:
            last = result[-1]
            if span.end > last.end:
                result[-1] = replace(last, end=span.end)
            continue
        result.append(span)
    return result


def _asserted_at(matcher: Matcher, text: str, start: int) -> bool:
    if matcher.negation is Negation.ignore_negated and is_negated(text, start):
        return False
    return not (matcher.quotation is Quotation.ignore_quoted and is_quoted(text, start))


def _clause_asserted(matcher: Matcher, text: str, hit: SemanticHit) -> bool:
    clause = hit.clause
    if matcher.negation is Negation.ignore_negated and (
        negation_differs(clause.text, hit.example) or is_rebutted(text, clause.end)
    ):
        return False
    return not (
        matcher.quotation is Quotation.ignore_quoted
        and (is_attributed(clause.text) or is_quoted(text, clause.start))
    )
