"""Which rules fire most, and how often officers found them wrong.

Computed from the audit log (every flag raised in the chosen sessions) and the officers'
verdicts (`server.finding_reviews`). A flag withdrawn in the session itself (raised on a
partial transcript, not borne out by the final text) is counted apart: it was shown, but
it is not a finding. The false-positive rate is over the flags reviewed only; with none
reviewed there is no rate, rather than a rate of zero that would read as "never wrong".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from audit.session_index import IndexedFinding
from server.finding_reviews import FindingReview, Verdict


@dataclass(frozen=True)
class RuleStats:
    rule_id: str
    fired: int  # flags raised and not withdrawn
    sessions: int  # sessions with at least one such flag
    withdrawn: int  # flags withdrawn when the final text did not bear them out
    reviewed: int
    false_positives: int

    @property
    def false_positive_rate(self) -> float | None:
        return self.false_positives / self.reviewed if self.reviewed else None


def rule_stats(
    findings: Iterable[IndexedFinding], verdicts: Mapping[tuple[str, str], FindingReview]
) -> list[RuleStats]:
    """One row per rule that raised a flag in `findings`, the most fired first."""
    fired: dict[str, int] = defaultdict(int)
    withdrawn: dict[str, int] = defaultdict(int)
    sessions: dict[str, set[str]] = defaultdict(set)
    reviewed: dict[str, int] = defaultdict(int)
    false_positives: dict[str, int] = defaultdict(int)
    for finding in findings:
        rule = finding.rule_id
        if finding.retracted:
            withdrawn[rule] += 1
            continue
        fired[rule] += 1
        sessions[rule].add(finding.session_id)
        review = verdicts.get((finding.session_id, finding.finding_id))
        if review is not None:
            reviewed[rule] += 1
            false_positives[rule] += review.verdict is Verdict.false_positive
    rules = sorted(fired.keys() | withdrawn.keys(), key=lambda rule: (-fired[rule], rule))
    return [
        RuleStats(
            rule_id=rule,
            fired=fired[rule],
            sessions=len(sessions[rule]),
            withdrawn=withdrawn[rule],
            reviewed=reviewed[rule],
            false_positives=false_positives[rule],
        )
        for rule in rules
    ]
