"""Evaluate one session's utterances against a compiled policy, partial by partial.

Findings are keyed by (rule, occurrence number within the utterance): a recogniser revision that
shifts the text does not raise the same breach twice, and a breach that a revision removes is
retracted when the utterance becomes final. Partial transcripts run the cheap checks (phrases,
regexes, personal data, behaviours); everything that needs the whole statement (meaning,
knowledge-base support, external validators, conversation rules, objectives) runs on the final.

A check that fails (an embedding error, a validator timeout) is never silent: per rule it
either fails closed, raising a breach (`on_error: block`), or leaves the rule not evaluated
(`flag`); both are reported in `FinalOutcome.check_failures`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from evaluators.conversation import ConversationTracker, RuleBreach
from evaluators.findings import Finding, Observation, Scorecard, Span, rule_finding
from evaluators.grounding import PassageLike
from evaluators.lexical import UtteranceScanner
from evaluators.matching import (
    Matches,
    lexical_matches,
    merge_overlaps,
    merged,
    semantic_matches,
)
from evaluators.objectives import ObjectiveStatus, ObjectiveTracker
from evaluators.occurrences import (
    Occurrence,
    PassageSearch,
    PassageSource,
    behaviour_occurrences,
    contradiction_occurrences,
    pii_occurrences,
    ungrounded_occurrences,
)
from evaluators.pii import mask
from evaluators.plan import PolicyPlan
from evaluators.rubric import Abstention, Judgment, score_session
from policies.models import (
    BehaviourRule,
    GroundingRule,
    LexicalRule,
    OnError,
    PiiRule,
    RequiredDisclosureRule,
    Speaker,
)

OccurrenceKey = tuple[str, int]
NO_KNOWLEDGE = "the session had no knowledge base to check against"


class UtteranceClosedError(ValueError):
    """A partial or final arrived for an utterance that is already final."""


@dataclass
class _UtteranceState:
    scanner: UtteranceScanner
    speaker: Speaker
    last_revision: int = -1
    raised: dict[OccurrenceKey, Finding] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckFailure:
    """A rule whose check could not run on an utterance; `blocked` when it failed closed."""

    rule_id: str
    utterance_id: str | None
    reason: str
    blocked: bool


@dataclass(frozen=True)
class FinalOutcome:
    """What a final utterance changed: its turn, new and retracted findings, disclosures made,
    objectives advanced, checks that failed, and the text as it may be recorded (personal data
    masked where a rule says redact)."""

    turn: int
    new_findings: list[Finding]
    retracted: list[Finding]
    observations: list[Observation]
    recordable_text: str
    redacted_spans: list[Span]
    objectives: list[ObjectiveStatus] = field(default_factory=list)
    check_failures: list[CheckFailure] = field(default_factory=list)
    confirmed: list[Finding] = field(default_factory=list)
    """Flags raised on a partial that the final upholds with more evidence (the knowledge-base
    passage it was judged against): the same finding id, already escalated."""


class SessionEvaluator:
    def __init__(
        self, plan: PolicyPlan, unavailable: Mapping[str, str] | frozenset[str] = frozenset()
    ) -> None:
        """`unavailable`: rules this session cannot check, with why (a set means: for want
        of a knowledge base)."""
        self._plan = plan
        reasons = (
            unavailable
            if isinstance(unavailable, Mapping)
            else dict.fromkeys(unavailable, NO_KNOWLEDGE)
        )
        self._unavailable: dict[str, str] = {**plan.unavailable, **reasons}
        self._utterances: dict[str, _UtteranceState] = {}
        self._closed: set[str] = set()
        self._active: dict[str, Finding] = {}
        self._observations: dict[str, Observation] = {}
        self._missing_reported: set[str] = set()
        self._conversation = ConversationTracker(plan.conversation_rules)
        self.objectives = ObjectiveTracker(plan.objectives)
        self.closed_at_end: list[ObjectiveStatus] = []
        self._incomplete: dict[str, str] = {}
        self._last_said: dict[Speaker, str] = {}
        self._blocked_unavailable = {
            rule_id
            for rule_id in plan.unavailable
            if rule_id in plan.rules and plan.rules[rule_id].error_handling is OnError.block
        }
        self._reported_unavailable: set[str] = set()
        self.learner_turns = 0

    @property
    def findings(self) -> list[Finding]:
        return list(self._active.values())

    @property
    def observations(self) -> list[Observation]:
        return list(self._observations.values())

    @property
    def unavailable(self) -> dict[str, str]:
        return dict(self._unavailable)

    def partial(
        self, utterance_id: str, revision: int, text: str, speaker: Speaker = Speaker.learner
    ) -> list[Finding]:
        """Evaluate a partial transcript; returns findings not raised before for it."""
        state = self._state(utterance_id, speaker)
        if revision <= state.last_revision:
            return []
        state.last_revision = revision
        state.scanner.feed(text)
        matches = lexical_matches(self._plan, state.scanner.hits, text, speaker)
        occurrences = self._spoken_occurrences(state, text, matches, final=False)
        return self._raise(state, utterance_id, occurrences, revision, self._turn_of(speaker, 1))

    def final(
        self,
        utterance_id: str,
        text: str,
        speaker: Speaker = Speaker.learner,
        passages: Sequence[PassageLike] | PassageSearch = (),
    ) -> FinalOutcome:
        """Evaluate the final transcript. `passages` are the knowledge-base passages closest
        to it, or a search that returns them: it is called only when a rule needs them (a
        quantity to check, a claim to ground), so most utterances skip retrieval."""
        state = self._state(utterance_id, speaker)
        if speaker is Speaker.learner:
            self.learner_turns += 1
        turn = self._turn_of(speaker, 0)
        state.scanner.feed(text)
        state.scanner.close()
        failures = self._unavailable_and_blocked(utterance_id, speaker)
        matches = merged(
            lexical_matches(self._plan, state.scanner.hits, text, speaker),
            self._semantic(utterance_id, text, speaker, failures),
        )
        occurrences = self._spoken_occurrences(state, text, matches, final=True)
        source = PassageSource(passages)
        occurrences.update(self._knowledge_occurrences(speaker, text, matches, source))
        if source.error is not None:
            failures += self._knowledge_failures(speaker, utterance_id, source.error)
        occurrences.update(self._validator_occurrences(utterance_id, speaker, text, failures))
        confirmed = self._with_evidence(state, utterance_id, occurrences, turn)
        new = self._raise(state, utterance_id, occurrences, None, turn)
        current = {key for rule_id, found in occurrences.items() for key in _keys(rule_id, found)}
        retracted = [finding for key, finding in state.raised.items() if key not in current]
        for finding in retracted:
            self._active.pop(finding.finding_id, None)
        observations = self._disclosures_made(utterance_id, text, turn, matches, speaker)
        new += self._conversation_findings(turn, utterance_id, text, matches, speaker)
        advanced: list[ObjectiveStatus] = []
        if speaker is Speaker.learner:
            previous = self._last_said.get(Speaker.persona)
            advanced = self.objectives.observe(turn, utterance_id, text, previous, matches)
            new += self._missed_deadlines(turn)
        new += self._failed_closed(failures, turn)
        self._last_said[speaker] = text
        recordable, redacted = self._redact(text, occurrences)
        del self._utterances[utterance_id]
        self._closed.add(utterance_id)
        return FinalOutcome(
            turn, new, retracted, observations, recordable, redacted, advanced, failures, confirmed
        )

    def end(self) -> list[Finding]:
        """Close the session: every required disclosure still missing, every claim still
        unbalanced and every count still short becomes a finding."""
        turn = self.learner_turns
        missing = self._missing(self._plan.disclosure_rules, turn, "the end of the session")
        breaches = [self._breach_finding(breach) for breach in self._conversation.end(turn)]
        self.closed_at_end = self.objectives.end(turn)
        return missing + breaches

    def scorecard(self, judgments: Mapping[str, Judgment | Abstention] | None = None) -> Scorecard:
        """Rules that failed closed were judged (as breached); the rest that could not run
        are shown as not evaluated. A rule whose check failed now and then (`on_error: flag`)
        keeps the breaches it found; without any, it cannot be called clean, so it is shown
        as not evaluated."""
        breached = {finding.rule_id for finding in self._active.values()}
        not_evaluated = {
            rule_id: reason
            for rule_id, reason in self._unavailable.items()
            if rule_id not in self._blocked_unavailable
        }
        not_evaluated.update(
            (rule_id, reason)
            for rule_id, reason in self._incomplete.items()
            if rule_id not in breached
        )
        return score_session(
            self._plan.policy,
            self.findings,
            self.observations,
            self.learner_turns,
            not_evaluated,
            objectives=self.objectives.statuses,
            judgments=judgments,
        )

    def _unavailable_and_blocked(self, utterance_id: str, speaker: Speaker) -> list[CheckFailure]:
        """A rule the plan could not load and that must fail closed breaches once, on the
        first final utterance of its speaker."""
        failures = []
        for rule_id in sorted(self._blocked_unavailable - self._reported_unavailable):
            if self._plan.rules[rule_id].applies_to is speaker:
                self._reported_unavailable.add(rule_id)
                reason = self._plan.unavailable[rule_id]
                failures.append(CheckFailure(rule_id, utterance_id, reason, blocked=True))
        return failures

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

    def _runs(self, rule_id: str) -> bool:
        return rule_id not in self._unavailable

    def _semantic(
        self, utterance_id: str, text: str, speaker: Speaker, failures: list[CheckFailure]
    ) -> Matches:
        try:
            return semantic_matches(self._plan, text, speaker)
        except Exception as error:  # any model failure must reach the rule's on_error
            owners = {key[0] for key in (self._plan.semantic.keys if self._plan.semantic else ())}
            failures += self._failures(owners, utterance_id, f"semantic check failed: {error}")
            return {}

    def _spoken_occurrences(
        self,
        state: _UtteranceState,
        text: str,
        matches: Matches,
        final: bool,
    ) -> dict[str, list[Occurrence]]:
        """Occurrences of the rules judged on the words alone: lexical, personal data,
        behaviours. A lexical rule with an `unless` exception flags on partials provisionally;
        the final checks the knowledge base and retracts what it supports."""
        found: dict[str, list[Occurrence]] = {}
        for rule in self._plan.rules.values():
            if rule.applies_to is not state.speaker or not self._runs(rule.id):
                continue
            if isinstance(rule, LexicalRule) and (rule.unless is None or not final):
                spans = merge_overlaps(matches.get((rule.id, "match"), []))
                found[rule.id] = [
                    Occurrence(rule.id, span.start, span.end, span.detail) for span in spans
                ]
            elif isinstance(rule, PiiRule):
                found[rule.id] = pii_occurrences(rule, text, final)
            elif isinstance(rule, BehaviourRule):
                previous = self._last_said.get(_other(state.speaker))
                found[rule.id] = behaviour_occurrences(rule, text, previous, final)
        return {rule_id: items for rule_id, items in found.items() if items}

    def _knowledge_occurrences(
        self, speaker: Speaker, text: str, matches: Matches, source: PassageSource
    ) -> dict[str, list[Occurrence]]:
        """Rules judged against the knowledge base; none runs on a failed search."""
        found: dict[str, list[Occurrence]] = {}
        for rule in self._plan.knowledge_rules():
            if rule.applies_to is not speaker or not self._runs(rule.id):
                continue
            if isinstance(rule, GroundingRule):
                occurrences = contradiction_occurrences(rule, text, source)
            else:
                occurrences = ungrounded_occurrences(rule, text, matches, source)
            if source.error is not None:
                return {}
            found[rule.id] = occurrences
        return found

    def _knowledge_failures(
        self, speaker: Speaker, utterance_id: str, error: str
    ) -> list[CheckFailure]:
        rule_ids = {
            rule.id
            for rule in self._plan.knowledge_rules()
            if rule.applies_to is speaker and self._runs(rule.id)
        }
        return self._failures(rule_ids, utterance_id, f"knowledge-base search failed: {error}")

    def _validator_occurrences(
        self, utterance_id: str, speaker: Speaker, text: str, failures: list[CheckFailure]
    ) -> dict[str, list[Occurrence]]:
        found: dict[str, list[Occurrence]] = {}
        for rule_id, validator in self._plan.validators.items():
            rule = self._plan.rules[rule_id]
            if rule.applies_to is not speaker or not self._runs(rule_id):
                continue
            try:
                breaches = validator.check(text)
            except Exception as error:  # a third-party validator may raise anything
                failures += self._failures({rule_id}, utterance_id, str(error))
                continue
            found[rule_id] = [
                Occurrence(rule_id, breach.start, breach.end, breach.detail) for breach in breaches
            ]
        return found

    def _failures(self, rule_ids: set[str], utterance_id: str, reason: str) -> list[CheckFailure]:
        failures = []
        for rule_id in sorted(rule_ids):
            rule = self._plan.rules.get(rule_id)
            blocked = rule is not None and rule.error_handling is OnError.block
            failures.append(CheckFailure(rule_id, utterance_id, reason, blocked))
            if not blocked:
                self._incomplete.setdefault(rule_id, f"check failed: {reason}")
        return failures

    def _failed_closed(self, failures: Sequence[CheckFailure], turn: int) -> list[Finding]:
        findings = []
        for failure in failures:
            if not failure.blocked:
                continue
            rule = self._plan.rules[failure.rule_id]
            finding = rule_finding(
                rule,
                f"{rule.id}@{failure.utterance_id}#error",
                turn,
                failure.utterance_id,
                f"check could not run, failing closed: {failure.reason}",
            )
            self._active[finding.finding_id] = finding
            findings.append(finding)
        return findings

    def _raise(
        self,
        state: _UtteranceState,
        utterance_id: str,
        occurrences: dict[str, list[Occurrence]],
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

    def _with_evidence(
        self,
        state: _UtteranceState,
        utterance_id: str,
        occurrences: dict[str, list[Occurrence]],
        turn: int,
    ) -> list[Finding]:
        """Provisional findings the final keeps and can now back with a passage."""
        confirmed = []
        for rule_id, items in occurrences.items():
            for ordinal, occurrence in enumerate(items):
                earlier = state.raised.get((rule_id, ordinal))
                if earlier is None or occurrence.passage is None or earlier.passage is not None:
                    continue
                finding = self._finding(
                    occurrence, state.scanner.text, utterance_id, ordinal, None, turn
                )
                state.raised[(rule_id, ordinal)] = finding
                self._active[finding.finding_id] = finding
                confirmed.append(finding)
        return confirmed

    def _finding(
        self,
        occurrence: Occurrence,
        text: str,
        utterance_id: str,
        ordinal: int,
        revision: int | None,
        turn: int,
    ) -> Finding:
        rule = self._plan.rules[occurrence.rule_id]
        quote = text[occurrence.start : occurrence.end]
        return rule_finding(
            rule,
            f"{rule.id}@{utterance_id}#{ordinal}",
            turn,
            utterance_id,
            occurrence.detail,
            revision=revision,
            span=Span(start=occurrence.start, end=occurrence.end),
            quote=mask(quote) if occurrence.is_personal_data else quote,
            passage=occurrence.passage,
        )

    def _conversation_findings(
        self, turn: int, utterance_id: str, text: str, matches: Matches, speaker: Speaker
    ) -> list[Finding]:
        rule_ids = {
            rule.id
            for rule in self._plan.conversation_rules
            if rule.applies_to is speaker and self._runs(rule.id)
        }
        if not rule_ids:
            return []
        breaches = self._conversation.observe(turn, utterance_id, text, matches, rule_ids)
        return [self._breach_finding(breach) for breach in breaches]

    def _breach_finding(self, breach: RuleBreach) -> Finding:
        rule = self._plan.rules[breach.rule_id]
        where = breach.utterance_id or "session"
        finding = rule_finding(
            rule,
            f"{rule.id}@{where}#{breach.ordinal}",
            breach.turn,
            breach.utterance_id,
            breach.detail,
            span=Span(start=breach.span.start, end=breach.span.end) if breach.span else None,
            quote=breach.quote,
        )
        self._active[finding.finding_id] = finding
        return finding

    def _disclosures_made(
        self, utterance_id: str, text: str, turn: int, matches: Matches, speaker: Speaker
    ) -> list[Observation]:
        made: list[Observation] = []
        for rule in self._plan.disclosure_rules:
            spans = matches.get((rule.id, "match"), [])
            if rule.applies_to is not speaker or rule.id in self._observations or not spans:
                continue
            span = spans[0]
            observation = Observation(
                rule_id=rule.id,
                turn=turn,
                utterance_id=utterance_id,
                span=Span(start=span.start, end=span.end),
                quote=text[span.start : span.end],
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
        rules: Sequence[RequiredDisclosureRule],
        turn: int,
        deadline: str,
    ) -> list[Finding]:
        missing: list[Finding] = []
        for rule in rules:
            if rule.id in self._observations or rule.id in self._missing_reported:
                continue
            if not self._runs(rule.id):
                continue
            self._missing_reported.add(rule.id)
            finding = rule_finding(
                rule,
                f"{rule.id}@session#0",
                turn,
                None,
                "required disclosure not made by " + deadline.format(by_turn=rule.by_turn),
            )
            self._active[finding.finding_id] = finding
            missing.append(finding)
        return missing

    def _redact(
        self, text: str, occurrences: dict[str, list[Occurrence]]
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


def _other(speaker: Speaker) -> Speaker:
    return Speaker.persona if speaker is Speaker.learner else Speaker.learner


def _keys(rule_id: str, items: list[Occurrence]) -> list[OccurrenceKey]:
    return [(rule_id, ordinal) for ordinal in range(len(items))]
