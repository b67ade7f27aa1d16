"""Cross-references inside a policy that a field-by-field schema cannot check.

Kept apart from the models so that each problem can name the exact field path (and so the
exact YAML line) it comes from, rather than the policy as a whole.
"""

from __future__ import annotations

from collections.abc import Iterator

from policies.models import Policy

FieldPath = tuple[str | int, ...]


def reference_problems(policy: Policy) -> Iterator[tuple[FieldPath, str]]:
    """Yield (field path, message) for duplicate rule or objective ids and references to
    unknown rules or objectives."""
    known: set[str] = set()
    for index, rule in enumerate(policy.guardrails):
        if rule.id in known:
            yield ("guardrails", index, "id"), f"duplicate rule id {rule.id!r}"
        known.add(rule.id)
    objectives: set[str] = set()
    for index, objective in enumerate(policy.objectives):
        if objective.id in known or objective.id in objectives:
            yield ("objectives", index, "id"), f"duplicate id {objective.id!r}"
        objectives.add(objective.id)

    def unknown(rule_id: str | None) -> bool:
        return rule_id is not None and rule_id not in known

    if policy.rubric is not None:
        for c_index, criterion in enumerate(policy.rubric.criteria):
            for r_index, rule_id in enumerate(criterion.from_guardrails or ()):
                if unknown(rule_id):
                    path: FieldPath = ("rubric", "criteria", c_index, "from_guardrails", r_index)
                    yield path, f"unknown rule {rule_id!r}"
            objective_id = criterion.from_objective
            if objective_id is not None and objective_id not in objectives:
                path = ("rubric", "criteria", c_index, "from_objective")
                yield path, f"unknown objective {objective_id!r}"
        for b_index, rule_id in enumerate(policy.rubric.blockers):
            if unknown(rule_id):
                yield ("rubric", "blockers", b_index), f"unknown rule {rule_id!r}"
    for e_index, escalation in enumerate(policy.escalation):
        if unknown(escalation.when.rule):
            yield ("escalation", e_index, "when", "rule"), f"unknown rule {escalation.when.rule!r}"
