"""Compile a policy once into what the real-time path runs.

All phrases and regexes of every rule and objective go into one Hyperscan automaton, all
semantic examples into one exemplar matrix; the rest are rule tables the session walks. A rule
the plan cannot run (a semantic rule without an embedder, a guardrails-ai validator that does
not load) is listed in `unavailable` with the reason, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from evaluators.lexical import LexicalPattern, Lexicon
from evaluators.semantic import ExemplarIndex, MatcherKey, SentenceEmbedder
from policies.digest import policy_digest
from policies.models import (
    BehaviourRule,
    CountRule,
    GroundingRule,
    Guardrail,
    GuardrailsValidatorRule,
    LexicalRule,
    Match,
    Negation,
    Objective,
    PairedDisclosureRule,
    PiiRule,
    Policy,
    Quotation,
    RequiredDisclosureRule,
    SemanticMatch,
    SequenceRule,
    Speaker,
)

ConversationRule = PairedDisclosureRule | SequenceRule | CountRule


class BreachLike(Protocol):
    """Where an external validator says the text fails, and why."""

    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def detail(self) -> str: ...


class ValidatorLike(Protocol):
    """A loaded external check (evaluators.adapters.guardrails_ai.ValidatorCheck fits); it
    raises when the check itself fails."""

    def check(self, text: str) -> Sequence[BreachLike]: ...


@dataclass(frozen=True)
class Matcher:
    """One `Match` of a rule or objective, with how its hits are judged."""

    key: MatcherKey
    match: Match
    speaker: Speaker
    negation: Negation = Negation.ignore_negated
    quotation: Quotation = Quotation.ignore_quoted


@dataclass(frozen=True)
class PolicyPlan:
    """Everything a session needs to evaluate utterances against one policy version."""

    policy: Policy
    digest: str
    lexicon: Lexicon
    rules: dict[str, Guardrail]
    matchers: dict[MatcherKey, Matcher]
    semantic: ExemplarIndex | None
    pii_rules: tuple[PiiRule, ...]
    disclosure_rules: tuple[RequiredDisclosureRule, ...]
    grounding_rules: tuple[GroundingRule, ...]
    conversation_rules: tuple[ConversationRule, ...]
    behaviour_rules: tuple[BehaviourRule, ...]
    validators: dict[str, ValidatorLike]
    objectives: tuple[Objective, ...]
    unavailable: dict[str, str] = field(default_factory=dict)

    def needs_passages(self, speaker: Speaker) -> bool:
        """Whether evaluating this speaker's lines needs knowledge-base passages."""
        return any(rule.applies_to is speaker for rule in self.knowledge_rules())

    def knowledge_rules(self) -> Iterator[GroundingRule | LexicalRule]:
        """Rules that judge statements against the knowledge base."""
        yield from self.grounding_rules
        for rule in self.rules.values():
            if isinstance(rule, LexicalRule) and rule.unless is not None:
                yield rule

    def pattern(self, pattern_id: int) -> LexicalPattern:
        return self.lexicon.patterns[pattern_id]

    def matcher(self, key: MatcherKey) -> Matcher:
        return self.matchers[key]


def matchers_of(policy: Policy) -> Iterator[Matcher]:
    """Every `Match` in the policy, keyed by (rule or objective id, field name)."""
    for rule in policy.guardrails:
        speaker = rule.applies_to
        if isinstance(rule, LexicalRule | RequiredDisclosureRule | CountRule):
            yield Matcher((rule.id, "match"), rule.match, speaker, rule.negation, rule.quotation)
        elif isinstance(rule, PairedDisclosureRule):
            for name, match in (("trigger", rule.trigger), ("require", rule.require)):
                yield Matcher((rule.id, name), match, speaker, rule.negation, rule.quotation)
        elif isinstance(rule, SequenceRule):
            yield Matcher((rule.id, "first"), rule.first, speaker, rule.negation, rule.quotation)
            yield Matcher((rule.id, "then"), rule.then, speaker, rule.negation, rule.quotation)
    for objective in policy.objectives:
        if objective.match is not None:
            yield Matcher((objective.id, "match"), objective.match, Speaker.learner)
        if objective.before is not None:
            yield Matcher((objective.id, "before"), objective.before, Speaker.learner)


def _patterns_of(matcher: Matcher) -> list[LexicalPattern]:
    owner, field_name = matcher.key
    case = matcher.match.case_sensitive
    phrases = [
        LexicalPattern(owner, "phrases", index, text, case, field_name)
        for index, text in enumerate(matcher.match.phrases)
    ]
    regexes = [
        LexicalPattern(owner, "regex", index, text, case, field_name)
        for index, text in enumerate(matcher.match.regex)
    ]
    return phrases + regexes


def _load_validators(policy: Policy, unavailable: dict[str, str]) -> dict[str, ValidatorLike]:
    rules = [rule for rule in policy.guardrails if isinstance(rule, GuardrailsValidatorRule)]
    if not rules:
        return {}
    from evaluators.adapters.guardrails_ai import ValidatorCheck, ValidatorUnavailableError

    loaded: dict[str, ValidatorLike] = {}
    for rule in rules:
        try:
            loaded[rule.id] = ValidatorCheck(rule)
        except ValidatorUnavailableError as error:
            unavailable[rule.id] = str(error)
    return loaded


def compile_policy(policy: Policy, embedder: SentenceEmbedder | None = None) -> PolicyPlan:
    """Build the plan; raises evaluators.lexical.PatternError for an uncompilable pattern.

    `embedder` serves the semantic matches; without one, the rules and objectives that use
    them are listed as unavailable (not evaluated) rather than passed silently.
    """
    matchers = {matcher.key: matcher for matcher in matchers_of(policy)}
    patterns = [pattern for matcher in matchers.values() for pattern in _patterns_of(matcher)]
    semantic_matches: list[tuple[MatcherKey, SemanticMatch]] = [
        (key, matcher.match.semantic)
        for key, matcher in matchers.items()
        if matcher.match.semantic is not None
    ]
    unavailable: dict[str, str] = {}
    semantic = None
    if semantic_matches and embedder is not None:
        semantic = ExemplarIndex(semantic_matches, embedder)
    elif semantic_matches:
        for (owner, _), _ in semantic_matches:
            unavailable[owner] = "no sentence embedder was configured for semantic matching"
    validators = _load_validators(policy, unavailable)
    return PolicyPlan(
        policy=policy,
        digest=policy_digest(policy),
        lexicon=Lexicon(patterns),
        rules={rule.id: rule for rule in policy.guardrails},
        matchers=matchers,
        semantic=semantic,
        pii_rules=tuple(rule for rule in policy.guardrails if isinstance(rule, PiiRule)),
        disclosure_rules=tuple(
            rule for rule in policy.guardrails if isinstance(rule, RequiredDisclosureRule)
        ),
        grounding_rules=tuple(
            rule for rule in policy.guardrails if isinstance(rule, GroundingRule)
        ),
        conversation_rules=tuple(
            rule
            for rule in policy.guardrails
            if isinstance(rule, PairedDisclosureRule | SequenceRule | CountRule)
        ),
        behaviour_rules=tuple(
            rule for rule in policy.guardrails if isinstance(rule, BehaviourRule)
        ),
        validators=validators,
        objectives=tuple(policy.objectives),
        unavailable=unavailable,
    )
