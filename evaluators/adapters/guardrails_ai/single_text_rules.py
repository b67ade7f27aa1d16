"""Which rules of a policy can be judged on one text alone, as a guardrails-ai validator must.

A Guard hands a validator one value with no conversation around it and no knowledge base.
Rules settled over a conversation (required or paired disclosures, sequences, counts) would be
wrong on one text, and rules that check statements against the knowledge base (grounding, an
`unless: {grounded_in: ...}` exception) have nothing to check against. Semantic matches need
a sentence embedder, which the caller may or may not supply.

Asked for all rules, the validator takes those it can judge and lists the others with the
reason; asked for a rule it cannot judge, it refuses rather than pass text it never checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from policies.models import Guardrail, LexicalRule, Policy, Speaker

NOT_ON_ONE_TEXT = {
    "required_disclosure": "is settled over a whole session",
    "paired_disclosure": "is settled over several turns",
    "sequence": "depends on what was said earlier in the session",
    "count": "counts over a whole session",
    "grounding": "needs knowledge-base passages",
}
"""Rule kinds whose verdict on one text alone would be wrong, and why."""


@dataclass(frozen=True)
class RuleSelection:
    rules: list[Guardrail]
    skipped: dict[str, str]
    """Rules of the policy left out, with why; empty when rules were named."""


def why_not_on_one_text(rule: Guardrail, can_embed: bool) -> str | None:
    """Why `rule` cannot be judged on one learner text, or None when it can."""
    if rule.kind in NOT_ON_ONE_TEXT:
        return f"({rule.kind}) {NOT_ON_ONE_TEXT[rule.kind]}"
    if rule.applies_to is not Speaker.learner:
        return f"applies to the {rule.applies_to.value}, and text is judged as the learner's"
    if isinstance(rule, LexicalRule) and rule.unless is not None:
        return "has an `unless` exception, which needs knowledge-base passages"
    if isinstance(rule, LexicalRule) and rule.match.semantic is not None and not can_embed:
        return "has a semantic match, which needs a sentence embedder (pass `embedder`)"
    return None


def select_rules(policy: Policy, rule_ids: Sequence[str] | None, can_embed: bool) -> RuleSelection:
    """The named rules, or every rule that can be judged on one text when none are named;
    raises ValueError naming a rule that is unknown or cannot be judged."""
    if rule_ids is None:
        selected, skipped = [], {}
        for rule in policy.guardrails:
            reason = why_not_on_one_text(rule, can_embed)
            if reason is None:
                selected.append(rule)
            else:
                skipped[rule.id] = reason
        if not selected:
            raise ValueError(
                f"policy {policy.policy!r} has no rule that can be judged on one text: "
                + "; ".join(f"{rule_id} {reason}" for rule_id, reason in skipped.items())
            )
        return RuleSelection(selected, skipped)
    if isinstance(rule_ids, str):
        raise TypeError(f"rules must be a list of rule ids, not the string {rule_ids!r}")
    if not rule_ids:
        raise ValueError("rules is empty: name at least one rule, or pass None for all")
    known = {rule.id: rule for rule in policy.guardrails}
    unknown = [rule_id for rule_id in rule_ids if rule_id not in known]
    if unknown:
        raise ValueError(
            f"policy {policy.policy!r} has no rule {', '.join(map(repr, unknown))}; "
            f"its rules are {', '.join(known)}"
        )
    selected = [known[rule_id] for rule_id in dict.fromkeys(rule_ids)]
    for rule in selected:
        reason = why_not_on_one_text(rule, can_embed)
        if reason is not None:
            raise ValueError(f"rule {rule.id!r} {reason}: it cannot be judged on one text")
    return RuleSelection(selected, {})
