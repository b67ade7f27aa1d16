"""Compare the findings a fixture expects with those a session raised.

The expectation is complete, so the comparison is between two multisets: every expected
finding must be matched by one raised finding of the same rule (at the same learner turn and
with the same quote, when the fixture says), and every raised finding must be expected. An
expected finding and a raised one of the same rule left over after matching are reported
together as one misplaced finding ("fired at turn 3, expected at turn 2"), which says more
than a missing and an unexpected finding would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from engine.policy_test_report import Mismatch, MismatchKind, ObservedFinding
from policies.fixtures import ExpectedFinding


def same_quote(expected: str, actual: str | None) -> bool:
    """Quotes compare without regard to case or runs of white space."""
    return actual is not None and _normal(expected) == _normal(actual)


def _normal(text: str) -> str:
    return " ".join(text.casefold().split())


def _fits(expected: ExpectedFinding, observed: ObservedFinding) -> bool:
    return (
        observed.rule == expected.rule
        and (expected.turn is None or expected.turn == observed.turn)
        and (expected.quote is None or same_quote(expected.quote, observed.quote))
    )


def compare_findings(
    expected: Sequence[ExpectedFinding],
    observed: Sequence[ObservedFinding],
    not_evaluated: Mapping[str, str],
) -> list[Mismatch]:
    """Mismatches between expected and raised findings. `not_evaluated` maps the rules the
    session could not check to the reason: expecting one of them is a mismatch that says why."""
    remaining = list(observed)
    unmatched: list[ExpectedFinding] = []
    mismatches: list[Mismatch] = []
    # The most specific expectations claim their findings first.
    for item in sorted(expected, key=lambda e: (e.turn is None, e.quote is None)):
        if item.rule in not_evaluated:
            mismatches.append(_not_evaluated(item, not_evaluated[item.rule]))
            continue
        found = next((finding for finding in remaining if _fits(item, finding)), None)
        if found is None:
            unmatched.append(item)
        else:
            remaining.remove(found)
    for item in unmatched:
        other = next((finding for finding in remaining if finding.rule == item.rule), None)
        if other is None:
            mismatches.append(_missing(item))
        else:
            remaining.remove(other)
            mismatches.append(_misplaced(item, other))
    mismatches += [_unexpected(finding) for finding in remaining]
    return mismatches


def _not_evaluated(item: ExpectedFinding, reason: str) -> Mismatch:
    return Mismatch(
        kind=MismatchKind.not_evaluated,
        message=f"expected {item.describe()}, but {item.rule} was not evaluated: {reason}",
        expected=item.describe(),
    )


def _missing(item: ExpectedFinding) -> Mismatch:
    return Mismatch(
        kind=MismatchKind.missing_finding,
        message=f"missing finding: {item.describe()} was expected but not raised",
        expected=item.describe(),
    )


def _unexpected(finding: ObservedFinding) -> Mismatch:
    return Mismatch(
        kind=MismatchKind.unexpected_finding,
        message=f"unexpected finding: {finding.describe()}",
        actual=finding.describe(),
    )


def _misplaced(item: ExpectedFinding, finding: ObservedFinding) -> Mismatch:
    differences = []
    if item.turn is not None and item.turn != finding.turn:
        differences.append(f"at turn {finding.turn}, not turn {item.turn}")
    if item.quote is not None and not same_quote(item.quote, finding.quote):
        quoted = f'"{finding.quote}"' if finding.quote is not None else "nothing"
        differences.append(f'quoting {quoted}, not "{item.quote}"')
    return Mismatch(
        kind=MismatchKind.misplaced_finding,
        message=f"{item.rule} fired {' and '.join(differences)} ({finding.detail})",
        expected=item.describe(),
        actual=finding.describe(),
    )
