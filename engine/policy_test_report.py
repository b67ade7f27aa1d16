"""What `proctor policy test` reports: per fixture, every way the outcome differed from the
expectation, with the findings (and their quotes) the session actually raised, and which rules
and objectives no fixture exercises.

Plain frozen models, so the same report is printed for a person and dumped as JSON for CI.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from policies.models import Severity, Speaker


class ReportModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MismatchKind(StrEnum):
    """How an outcome differed from the fixture's expectation."""

    missing_finding = "missing_finding"
    unexpected_finding = "unexpected_finding"
    misplaced_finding = "misplaced_finding"
    not_evaluated = "not_evaluated"
    verdict = "verdict"
    ended_by_policy = "ended_by_policy"
    objective = "objective"
    session_error = "session_error"


class ObservedFinding(ReportModel):
    """A finding the session raised, as a fixture names it."""

    rule: str
    turn: int
    speaker: Speaker | None
    severity: Severity
    quote: str | None
    detail: str

    def describe(self) -> str:
        by = " (persona line)" if self.speaker is Speaker.persona else ""
        head = f"{self.rule} at turn {self.turn}{by}"
        if self.quote is None:
            return f"{head}: {self.detail}"
        return f'{head}: "{self.quote}" ({self.detail})'


class Mismatch(ReportModel):
    """One difference: a sentence for a person, and the expected and actual values."""

    kind: MismatchKind
    message: str
    expected: str | None = None
    actual: str | None = None


class FixtureResult(ReportModel):
    name: str
    file: str
    passed: bool
    mismatches: tuple[Mismatch, ...]
    findings: tuple[ObservedFinding, ...]
    score: float | None
    pass_mark: float | None
    session_passed: bool | None
    ended_by_policy: bool
    lines_played: int
    lines: int
    objectives_met: tuple[str, ...]
    not_evaluated: tuple[str, ...]


class Coverage(ReportModel):
    """Rules no fixture expects to fire and objectives no fixture expects to be met: the parts
    of the policy the fixtures never exercise."""

    unexercised_rules: tuple[str, ...]
    unexercised_objectives: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.unexercised_rules and not self.unexercised_objectives


class PolicyTestReport(ReportModel):
    policy: str
    version: int
    digest: str
    knowledge: str
    fixtures: tuple[FixtureResult, ...]
    coverage: Coverage
    passed: bool

    @property
    def failed(self) -> int:
        return sum(not result.passed for result in self.fixtures)
