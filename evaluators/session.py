"""Evaluate one session's utterances against a compiled policy, partial by partial.

Findings are keyed by (rule, occurrence number within the utterance): a recogniser revision that
shifts the text does not raise the same breach twice, and a breach that a revision removes is
retracted when the utterance becomes final. Required disclosures are settled on final text only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from evaluators.context import is_negated, is_quoted
from evaluators.findings import Finding, Observation, PassageEvidence, Scorecard, Span
from evaluators.grounding import PassageLike, contradictions, sentence_around
from evaluators.lexical import UtteranceScanner
from evaluators.pii import find_pii, mask
from evaluators.plan import PolicyPlan
from evaluators.rubric import score_session
from policies.models import (
    GroundingRule,
    LexicalRule,
    Negation,
    PiiRule,
    Quotation,
    RequiredDisclosureRule,
    Speaker,
)

OccurrenceKey = tuple[str, int]


class UtteranceClosedError(ValueError):
    """A partial or final arrived for an utterance that is already final."""


@dataclass(frozen=True)
class _Occurrence:
    rule_id: str
    start: int
    end: int
    detail: str
    is_personal_data: bool = False
    passage: PassageEvidence | None = None


@dataclass
class _UtteranceState:
    scanner: UtteranceScanner
    speaker: Speaker
    last_revision: int = -1
    raised: dict[OccurrenceKey, Finding] = field(default_factory=dict)


@dataclass(frozen=True)
class FinalOutcome:
    """What a final utterance changed: its turn, new and retracted findings, disclosures made,
    and the text as it may be recorded (personal data masked where a rule says redact)."""

    turn: int
    new_findings: list[Finding]
    retracted: list[Finding]
    observations: list[Observation]
    recordable_text: str
    redacted_spans: list[Span]


class SessionEvaluator:
    def __init__(self, plan: PolicyPlan, unavailable: frozenset[str] = frozenset()) -> None:
        """`unavailable`: rules this session cannot check (grounding without knowledge)."""
        self._plan = plan
        self._unavailable = unavailable
        self._utterances: dict[str, _UtteranceState] = {}
        self._closed: set[str] = set()
        self._active: dict[str, Finding] = {}
        self._observations: dict[str, Observation] = {}
        self._missing_reported: set[str] = set()
        self.learner_turns = 0

    @property
    def findings(self) -> list[Finding]:
        return list(self._active.values())

    @property
    def observations(self) -> list[Observation]:
        return list(self._observations.values())

    def partial(
        self, utterance_id: str, revision: int, text: str, speaker: Speaker = Speaker.learner
    ) -> list[Finding]:
        """Evaluate a partial transcript; returns findings not raised before for it."""
        state = self._state(utterance_id, speaker)
        if revision <= state.last_revision:
            return []
        state.last_revision = revision
        state.scanner.feed(text)
        occurrences = self._occurrences(state, text, final=False)
        return self._raise(state, utterance_id, occurrences, revision, self._turn_of(speaker, 1))

    def final(
        self,
        utterance_id: str,
        text: str,
        speaker: Speaker = Speaker.learner,
        passages: Sequence[PassageLike] = (),
    ) -> FinalOutcome:
        """Evaluate the final transcript; `passages` are the knowledge-base passages closest to
        it, needed only by grounding rules (see PolicyPlan.needs_passages)."""
        state = self._state(utterance_id, speaker)
        if speaker is Speaker.learner:
            self.learner_turns += 1
        turn = self._turn_of(speaker, 0)
        state.scanner.feed(text)
        state.scanner.close()
        occurrences = self._occurrences(state, text, final=True)
        for rule in self._plan.grounding_rules:
            if rule.applies_to is speaker:
                occurrences[rule.id] = _grounding_occurrences(rule, text, passages)
        new = self._raise(state, utterance_id, occurrences, None, turn)
        current = {key for rule_id, found in occurrences.items() for key in _keys(rule_id, found)}
        retracted = [finding for key, finding in state.raised.items() if key not in current]
        for finding in retracted:
            self._active.pop(finding.finding_id, None)
        observations = self._disclosures_made(state, utterance_id, text, turn)
        if speaker is Speaker.learner:
            new += self._missed_deadlines(turn)
        recordable, redacted = self._redact(text, occurrences)
        del self._utterances[utterance_id]
        self._closed.add(utterance_id)
        return FinalOutcome(turn, new, retracted, observations, recordable, redacted)

    def end(self) -> list[Finding]:
        """Close the session: every required disclosure still missing becomes a finding."""
        return self._missing(
            self._plan.disclosure_rules, self.learner_turns, "the end of the session"
        )

    def scorecard(self) -> Scorecard:
        return score_session(
            self._plan.policy,
            self.findings,
            self.observations,
            self.learner_turns,
            self._unavailable,
        )

    def _turn_of(self, speaker: Speaker, pending: int) -> int:
        return self.learner_turns + pending if speaker is Speaker.learner else self.learner_turns

    def _state(self, utterance_id: str, speaker: Speaker) -> _UtteranceState:
        if utterance_id in self._closed:
            raise UtteranceClosedError(f"utterance {utterance_id!r} is already final")
        state = self._utterances.get(utterance_id)
        if state is None:
            state = _UtteranceState(self._plan.lexicon.open_scanner(), speaker)
            self._utterances[utterance_id] = state
        return state

    def _occurrences(
        self, state: _UtteranceState, text: str, final: bool
    ) -> dict[str, list[_Occurrence]]:
        found: dict[str, list[_Occurrence]] = defaultdict(list)
        for hit in state.scanner.hits:
            pattern, rule = self._plan.pattern_rule(hit.pattern_id)
            if (
                isinstance(rule, LexicalRule)
                and rule.applies_to is state.speaker
                and _asserted(rule, text, hit.start)
            ):
                found[rule.id].append(_Occurrence(rule.id, hit.start, hit.end, pattern.describe()))
        for pii_rule in self._plan.pii_rules:
            if pii_rule.applies_to is state.speaker:
                found[pii_rule.id] += _pii_occurrences(pii_rule, text, final)
        return {rule_id: _merge_overlaps(items) for rule_id, items in found.items()}

    def _raise(
        self,
        state: _UtteranceState,
        utterance_id: str,
        occurrences: dict[str, list[_Occurrence]],
        revision: int | None,
        turn: int,
    ) -> list[Finding]:
        new: list[Finding] = []
        text = state.scanner.text
        for rule_id, items in occurrences.items():
            for ordinal, occurrence in enumerate(items):
                key = (rule_id, ordinal)
                if key in state.raised:
                    continue
                finding = self._finding(occurrence, text, utterance_id, ordinal, revision, turn)
                state.raised[key] = finding
                self._active[finding.finding_id] = finding
                new.append(finding)
        return new

    def _finding(
        self,
        occurrence: _Occurrence,
        text: str,
        utterance_id: str,
        ordinal: int,
        revision: int | None,
        turn: int,
    ) -> Finding:
        rule = self._plan.rules[occurrence.rule_id]
        quote = text[occurrence.start : occurrence.end]
        return Finding(
            finding_id=f"{rule.id}@{utterance_id}#{ordinal}",
            rule_id=rule.id,
            rule_kind=rule.kind,
            severity=rule.severity,
            turn=turn,
            utterance_id=utterance_id,
            revision=revision,
            span=Span(start=occurrence.start, end=occurrence.end),
            quote=mask(quote) if occurrence.is_personal_data else quote,
            detail=occurrence.detail,
            cite=rule.cite,
            actions=tuple(rule.on_violation),
            coach=rule.coach,
            passage=occurrence.passage,
        )

    def _disclosures_made(
        self, state: _UtteranceState, utterance_id: str, text: str, turn: int
    ) -> list[Observation]:
        made: list[Observation] = []
        for hit in state.scanner.hits:
            _, rule = self._plan.pattern_rule(hit.pattern_id)
            if not isinstance(rule, RequiredDisclosureRule) or rule.applies_to is not state.speaker:
                continue
            if rule.id in self._observations or not _asserted(rule, text, hit.start):
                continue
            observation = Observation(
                rule_id=rule.id,
                turn=turn,
                utterance_id=utterance_id,
                span=Span(start=hit.start, end=hit.end),
                quote=text[hit.start : hit.end],
            )
            self._observations[rule.id] = observation
            made.append(observation)
        return made

    def _missed_deadlines(self, turn: int) -> list[Finding]:
        due = [
            rule
            for rule in self._plan.disclosure_rules
            if rule.by_turn is not None and rule.by_turn <= turn
        ]
        return self._missing(due, turn, "learner turn {by_turn}")

    def _missing(
        self,
        rules: tuple[RequiredDisclosureRule, ...] | list[RequiredDisclosureRule],
        turn: int,
        deadline: str,
    ) -> list[Finding]:
        missing: list[Finding] = []
        for rule in rules:
            if rule.id in self._observations or rule.id in self._missing_reported:
                continue
            self._missing_reported.add(rule.id)
            finding = Finding(
                finding_id=f"{rule.id}@session#0",
                rule_id=rule.id,
                rule_kind=rule.kind,
                severity=rule.severity,
                turn=turn,
                utterance_id=None,
                detail="required disclosure not made by " + deadline.format(by_turn=rule.by_turn),
                cite=rule.cite,
                actions=tuple(rule.on_violation),
                coach=rule.coach,
            )
            self._active[finding.finding_id] = finding
            missing.append(finding)
        return missing

    def _redact(
        self, text: str, occurrences: dict[str, list[_Occurrence]]
    ) -> tuple[str, list[Span]]:
        spans = [
            Span(start=item.start, end=item.end)
            for rule_id, items in occurrences.items()
            if "redact" in self._plan.rules[rule_id].on_violation
            for item in items
            if item.is_personal_data
        ]
        recordable = text
        for span in spans:
            length = span.end - span.start
            recordable = recordable[: span.start] + "\u2588" * length + recordable[span.end :]
        return recordable, spans


def _asserted(rule: LexicalRule | RequiredDisclosureRule, text: str, start: int) -> bool:
    if rule.negation is Negation.ignore_negated and is_negated(text, start):
        return False
    return not (rule.quotation is Quotation.ignore_quoted and is_quoted(text, start))


def _pii_occurrences(rule: PiiRule, text: str, final: bool) -> list[_Occurrence]:
    """On a partial, data touching the end of the text may still be growing: wait for more."""
    return [
        _Occurrence(rule.id, hit.start, hit.end, f"{hit.entity.value} ({hit.check})", True)
        for hit in find_pii(text, rule.entities, rule.default_region)
        if final or hit.end < len(text)
    ]


def _grounding_occurrences(
    rule: GroundingRule, text: str, passages: Sequence[PassageLike]
) -> list[_Occurrence]:
    return [
        _Occurrence(
            rule.id,
            found.claim.start,
            found.claim.end,
            found.describe(),
            passage=PassageEvidence(
                chunk_id=found.passage.chunk_id,
                document=found.passage.document,
                section=found.passage.section,
                quote=sentence_around(found.passage.text, found.stated[0].start),
            ),
        )
        for found in contradictions(text, passages, rule.min_similarity)
    ]


def _merge_overlaps(items: list[_Occurrence]) -> list[_Occurrence]:
    """One occurrence per stretch of text: open-ended phrases report every word ending."""
    merged: list[_Occurrence] = []
    for item in sorted(items, key=lambda occurrence: (occurrence.start, -occurrence.end)):
        if merged and item.start < merged[-1].end:
            last = merged[-1]
            if item.end > last.end:
                merged[-1] = replace(last, end=item.end)
            continue
        merged.append(item)
    return merged


def _keys(rule_id: str, items: list[_Occurrence]) -> list[OccurrenceKey]:
    return [(rule_id, ordinal) for ordinal in range(len(items))]
