"""Compile a policy once into what the real-time path runs: one automaton plus rule tables."""

from __future__ import annotations

from dataclasses import dataclass

from evaluators.lexical import LexicalPattern, Lexicon
from policies.digest import policy_digest
from policies.models import (
    GroundingRule,
    Guardrail,
    LexicalRule,
    PiiRule,
    Policy,
    RequiredDisclosureRule,
    Speaker,
)

MatchingRule = LexicalRule | RequiredDisclosureRule


@dataclass(frozen=True)
class PolicyPlan:
    """Everything a session needs to evaluate utterances against one policy version."""

    policy: Policy
    digest: str
    lexicon: Lexicon
    rules: dict[str, Guardrail]
    pii_rules: tuple[PiiRule, ...]
    disclosure_rules: tuple[RequiredDisclosureRule, ...]
    grounding_rules: tuple[GroundingRule, ...]

    def needs_passages(self, speaker: Speaker) -> bool:
        """Whether evaluating this speaker's lines needs knowledge-base passages."""
        return any(rule.applies_to is speaker for rule in self.grounding_rules)

    def pattern_rule(self, pattern_id: int) -> tuple[LexicalPattern, MatchingRule]:
        pattern = self.lexicon.patterns[pattern_id]
        rule = self.rules[pattern.rule_id]
        assert isinstance(rule, LexicalRule | RequiredDisclosureRule)
        return pattern, rule


def _patterns_of(rule: MatchingRule) -> list[LexicalPattern]:
    case = rule.match.case_sensitive
    phrases = [
        LexicalPattern(rule.id, "phrases", index, text, case)
        for index, text in enumerate(rule.match.phrases)
    ]
    regexes = [
        LexicalPattern(rule.id, "regex", index, text, case)
        for index, text in enumerate(rule.match.regex)
    ]
    return phrases + regexes


def compile_policy(policy: Policy) -> PolicyPlan:
    """Build the plan; raises evaluators.lexical.PatternError for an uncompilable pattern."""
    patterns: list[LexicalPattern] = []
    for rule in policy.guardrails:
        if isinstance(rule, LexicalRule | RequiredDisclosureRule):
            patterns.extend(_patterns_of(rule))
    return PolicyPlan(
        policy=policy,
        digest=policy_digest(policy),
        lexicon=Lexicon(patterns),
        rules={rule.id: rule for rule in policy.guardrails},
        pii_rules=tuple(rule for rule in policy.guardrails if isinstance(rule, PiiRule)),
        disclosure_rules=tuple(
            rule for rule in policy.guardrails if isinstance(rule, RequiredDisclosureRule)
        ),
        grounding_rules=tuple(
            rule for rule in policy.guardrails if isinstance(rule, GroundingRule)
        ),
    )
