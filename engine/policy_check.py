"""A policy document checked completely, the same way wherever it comes from: the CLI's
`proctor policy lint` reads a file, the officer's editor sends the text as it is typed.

Schema and references first, then every pattern compiled (without loading any model), then
the linter's warnings about settings that cannot take effect (`policies.lint`)."""

from __future__ import annotations

from collections.abc import Sequence

from evaluators import PatternError, compile_policy
from policies import DocumentError, DocumentIssue
from policies.documents import YamlDocument, located_issue
from policies.lint import Level, LintIssue, ScenarioLimit, lint_policy
from policies.loading import policy_from_document
from policies.models import Policy


def checked_policy(document: YamlDocument) -> Policy:
    """The policy `document` holds, its patterns compiled; raises DocumentError with every
    issue located."""
    policy = policy_from_document(document)
    try:
        compile_policy(policy)
    except PatternError as error:
        raise DocumentError([pattern_issue(document, policy, error)]) from None
    return policy


def lint_document(
    document: YamlDocument, scenarios: Sequence[ScenarioLimit] = ()
) -> tuple[Policy | None, list[LintIssue]]:
    """The policy (None when it is invalid) and every issue found, errors first."""
    try:
        policy = checked_policy(document)
    except DocumentError as error:
        return None, [LintIssue(Level.error, issue) for issue in error.issues]
    return policy, lint_policy(document, policy, scenarios)


def pattern_issue(document: YamlDocument, policy: Policy, error: PatternError) -> DocumentIssue:
    """The pattern's own line: rules and objectives alike, in whichever of their fields
    (`match`, `trigger`, `require`, `first`, `then`, `before`) it was written."""
    pattern = error.pattern
    owners = [("guardrails", [rule.id for rule in policy.guardrails])]
    owners.append(("objectives", [objective.id for objective in policy.objectives]))
    for section, ids in owners:
        if pattern.rule_id in ids:
            index = ids.index(pattern.rule_id)
            path = (section, index, pattern.field, pattern.source, pattern.index)
            return located_issue(document, path, f"cannot compile: {error.reason}")
    return located_issue(document, (), f"{pattern.describe()}: cannot compile: {error.reason}")
