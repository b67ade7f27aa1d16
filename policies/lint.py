"""Checks a valid policy can still fail: settings that can never take effect or contradict
each other.

The schema and the cross-references (policies/references.py, run when a policy is loaded)
accept every policy that is well formed. Some well-formed policies still do not mean what their
author thinks: an escalation on critical findings of a rule that is only a warning never fires,
`redact` on a rule that finds no personal data redacts nothing. Each check here names the field
to fix, so `proctor policy lint` reports it as FILE:LINE:COL: field.path: message, with a
level: an `error` is a setting that cannot work as written, a `warning` one that probably
does not do what was meant.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

from policies.documents import DocumentIssue, FieldPath, YamlDocument, located_issue
from policies.models import (
    Action,
    GroundingRule,
    Guardrail,
    LexicalRule,
    Match,
    PiiRule,
    Policy,
    RequiredDisclosureRule,
    Severity,
    Speaker,
)


class Level(StrEnum):
    error = "error"
    warning = "warning"


@dataclass(frozen=True)
class LintIssue:
    level: Level
    issue: DocumentIssue

    def __str__(self) -> str:
        return f"{self.level.value}: {self.issue}"


@dataclass(frozen=True)
class ScenarioLimit:
    """A scenario played under the policy, and the learner turns it lasts at most."""

    name: str
    max_turns: int


Problem = tuple[Level, FieldPath, str]

# Kinds that raise at most one finding per session (a missed disclosure is reported once).
_ONCE_PER_SESSION = ("required_disclosure",)


def lint_policy(
    document: YamlDocument, policy: Policy, scenarios: Sequence[ScenarioLimit] = ()
) -> list[LintIssue]:
    """Every problem found, located in `document` (the YAML `policy` was loaded from), errors
    first, then in document order."""
    problems = [
        *_rule_problems(policy),
        *_escalation_problems(policy),
        *_rubric_problems(policy),
        *_deadline_problems(policy, scenarios),
    ]
    issues = [
        LintIssue(level, located_issue(document, path, message))
        for level, path, message in problems
    ]
    return sorted(
        issues,
        key=lambda item: (item.level is not Level.error, item.issue.line, item.issue.column),
    )


def _rule_problems(policy: Policy) -> Iterator[Problem]:
    for index, rule in enumerate(policy.guardrails):
        where: FieldPath = ("guardrails", index)
        actions = rule.on_violation
        if Action.redact in actions and not isinstance(rule, PiiRule):
            yield (
                Level.warning,
                (*where, "on_violation"),
                f"`redact` has no effect on a {rule.kind} rule: only pii rules find personal "
                "data to redact",
            )
        if not actions and rule.severity is Severity.critical and not _escalated(policy, rule):
            yield (
                Level.warning,
                (*where, "on_violation"),
                "a critical rule with `on_violation: []` and no escalation entry that counts it: "
                "a breach is recorded but nobody is coached or told",
            )
        if rule.applies_to is Speaker.persona and Action.coach in actions:
            yield (
                Level.warning,
                (*where, "on_violation"),
                "this rule checks the persona's lines, yet `coach` would coach the learner for "
                "what the persona said (set `on_violation: []`)",
            )
        if (
            isinstance(rule, RequiredDisclosureRule)
            and rule.by_turn is None
            and Action.end_session in actions
        ):
            yield (
                Level.warning,
                (*where, "on_violation"),
                "`end_session` has no effect: without `by_turn` a missing disclosure is only "
                "found when the session is already ending",
            )
        if policy.knowledge_base is None:
            yield from _without_knowledge(rule, where)
        yield from _repeated_patterns(rule, where)


def _without_knowledge(rule: Guardrail, where: FieldPath) -> Iterator[Problem]:
    """Rules that judge statements against a knowledge base the policy does not name."""
    if isinstance(rule, GroundingRule):
        yield (
            Level.warning,
            (*where, "kind"),
            "a grounding rule judges figures against the knowledge base, but the policy names "
            "no `knowledge_base`: it is never evaluated",
        )
    elif isinstance(rule, LexicalRule) and rule.unless is not None:
        yield (
            Level.warning,
            (*where, "unless"),
            "the exception needs the knowledge base, but the policy names no "
            "`knowledge_base`: it never applies, so every match fires",
        )


def _matches_of(rule: Guardrail) -> Iterator[tuple[str, Match]]:
    for field in ("match", "trigger", "require", "first", "then"):
        value = getattr(rule, field, None)
        if isinstance(value, Match):
            yield field, value


def _repeated_patterns(rule: Guardrail, where: FieldPath) -> Iterator[Problem]:
    for field, match in _matches_of(rule):
        for kind, patterns in (("phrases", match.phrases), ("regex", match.regex)):
            seen: set[str] = set()
            for index, pattern in enumerate(patterns):
                key = pattern if match.case_sensitive else pattern.casefold()
                if key in seen:
                    yield (
                        Level.warning,
                        (*where, field, kind, index),
                        f"{pattern!r} is listed twice",
                    )
                seen.add(key)


def _escalated(policy: Policy, rule: Guardrail) -> bool:
    """Whether some escalation entry counts the rule's findings."""
    return any(
        (entry.when.rule is None or entry.when.rule == rule.id)
        and (entry.when.severity is None or rule.severity.rank >= entry.when.severity.rank)
        for entry in policy.escalation
    )


def _escalation_problems(policy: Policy) -> Iterator[Problem]:
    rules = {rule.id: rule for rule in policy.guardrails}
    for index, entry in enumerate(policy.escalation):
        when = entry.when
        where: FieldPath = ("escalation", index, "when")
        rule = rules.get(when.rule) if when.rule is not None else None
        if rule is not None:
            yield from _rule_escalation_problems(rule, entry.when.severity, entry.when.count, where)
        elif when.rule is None and when.severity is not None:
            reaching = [r for r in policy.guardrails if r.severity.rank >= when.severity.rank]
            if not reaching:
                highest = max(r.severity.rank for r in policy.guardrails)
                level = next(s for s in Severity if s.rank == highest)
                yield (
                    Level.warning,
                    (*where, "severity"),
                    f"no rule is {when.severity.value} or above (the highest is "
                    f"{level.value}): this escalation never fires",
                )


def _rule_escalation_problems(
    rule: Guardrail, severity: Severity | None, count: int, where: FieldPath
) -> Iterator[Problem]:
    if severity is not None and rule.severity.rank < severity.rank:
        yield (
            Level.error,
            (*where, "severity"),
            f"rule {rule.id!r} has severity {rule.severity.value}, below {severity.value}: "
            "this escalation never fires",
        )
    if rule.kind in _ONCE_PER_SESSION and count > 1:
        yield (
            Level.error,
            (*where, "count"),
            f"rule {rule.id!r} ({rule.kind}) raises at most one finding per session, so a "
            f"count of {count} is never reached",
        )
    if rule.applies_to is Speaker.persona:
        yield (
            Level.warning,
            (*where, "rule"),
            f"rule {rule.id!r} checks the persona's lines: this escalation acts on what the "
            "simulated persona says, never on the learner",
        )


def _rubric_problems(policy: Policy) -> Iterator[Problem]:
    rubric = policy.rubric
    if rubric is None:
        return
    rules = {rule.id: rule for rule in policy.guardrails}
    scored: set[str] = set()
    seen_criteria: set[str] = set()
    for c_index, criterion in enumerate(rubric.criteria):
        where: FieldPath = ("rubric", "criteria", c_index)
        if criterion.id in seen_criteria:
            yield Level.error, (*where, "id"), f"duplicate criterion id {criterion.id!r}"
        seen_criteria.add(criterion.id)
        listed: set[str] = set()
        for r_index, rule_id in enumerate(criterion.from_guardrails or ()):
            path: FieldPath = (*where, "from_guardrails", r_index)
            if rule_id in listed:
                yield (
                    Level.warning,
                    path,
                    f"rule {rule_id!r} is listed twice in this criterion, so it counts double",
                )
            listed.add(rule_id)
            rule = rules.get(rule_id)
            if rule is not None and rule.applies_to is Speaker.persona:
                yield (
                    Level.warning,
                    path,
                    f"rule {rule_id!r} checks the persona's lines: the learner's score would "
                    "drop for what the persona says",
                )
        scored |= listed
    for b_index, rule_id in _repeats(rubric.blockers):
        yield Level.warning, ("rubric", "blockers", b_index), f"{rule_id!r} is listed twice"
    for b_index, rule_id in enumerate(rubric.blockers):
        if rule_id in rules and rule_id not in scored and rubric.blockers.index(rule_id) == b_index:
            yield (
                Level.warning,
                ("rubric", "blockers", b_index),
                f"blocker {rule_id!r} is in no criterion: a breach fails the session, yet no "
                "criterion's score or evidence shows it",
            )
    unscored = [
        (index, rule)
        for index, rule in enumerate(policy.guardrails)
        if rule.id not in scored
        and rule.id not in rubric.blockers
        and rule.applies_to is Speaker.learner
        and rule.severity.rank >= Severity.violation.rank
    ]
    for index, rule in unscored:
        yield (
            Level.warning,
            ("guardrails", index, "id"),
            f"{rule.severity.value} rule {rule.id!r} is in no criterion and is not a blocker: "
            "its breaches never change the score or the verdict",
        )
    yield from _pass_mark_problems(policy)


def _repeats(items: Sequence[str]) -> Iterator[tuple[int, str]]:
    """(index, item) of every item that already appeared earlier."""
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item in seen:
            yield index, item
        seen.add(item)


def _pass_mark_problems(policy: Policy) -> Iterator[Problem]:
    assert policy.rubric is not None
    rubric = policy.rubric
    total = sum(criterion.weight for criterion in rubric.criteria)
    if total < rubric.pass_mark:
        yield (
            Level.warning,
            ("rubric", "pass_mark"),
            f"the weights add up to {total:g}, less than the pass mark {rubric.pass_mark:g}: "
            "added up, no session could pass. Proctor divides by the total weight (a clean "
            "session scores 1), so this works, but weights adding up to 1 say what you mean",
        )
    if rubric.pass_mark == 0 and not rubric.blockers:
        yield (
            Level.warning,
            ("rubric", "pass_mark"),
            "a pass mark of 0 with no blockers passes every session",
        )


def _deadline_problems(policy: Policy, scenarios: Sequence[ScenarioLimit]) -> Iterator[Problem]:
    if not scenarios:
        return
    shortest = min(scenarios, key=lambda scenario: scenario.max_turns)
    deadlines: list[tuple[FieldPath, int]] = [
        (("guardrails", index, "by_turn"), rule.by_turn)
        for index, rule in enumerate(policy.guardrails)
        if isinstance(rule, RequiredDisclosureRule) and rule.by_turn is not None
    ]
    deadlines += [
        (("objectives", index, "by_turn"), objective.by_turn)
        for index, objective in enumerate(policy.objectives)
        if objective.by_turn is not None
    ]
    for path, by_turn in deadlines:
        if by_turn > shortest.max_turns:
            yield (
                Level.warning,
                path,
                f"turn {by_turn} is beyond scenario {shortest.name!r}, which ends after "
                f"{shortest.max_turns} learner turns: there the deadline is the end of the "
                "session",
            )
