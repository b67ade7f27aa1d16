"""Test a policy against example conversations, as `opa test` tests a Rego policy.

Each fixture (see policies/fixtures.py) is replayed through a real `Session` the way
`proctor evaluate` replays a recorded transcript: one final utterance per line, in order,
until the transcript ends or the policy ends the session. The outcome, meaning the findings,
the scorecard's verdict, the objectives met and whether the policy ended the session, is
compared with the fixture's expectation. Rules that the run cannot check (grounding without a
knowledge base, a semantic match without an embedder) are "not evaluated": a fixture that
expects them to fire fails and says why, rather than passing or failing for a wrong reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from engine.events import ObjectiveProgress, SessionEvent
from engine.policy_test_matching import compare_findings
from engine.policy_test_report import (
    Coverage,
    FixtureResult,
    Mismatch,
    MismatchKind,
    ObservedFinding,
    PolicyTestReport,
)
from engine.replay import replay_inputs
from engine.session import Knowledge, Session, SessionError, SessionState
from engine.transcripts import TranscriptLine
from evaluators.findings import Finding, Scorecard
from evaluators.plan import PolicyPlan
from policies.fixtures import Expectation, LoadedFixture
from policies.models import Policy, Speaker

LEARNER_ID = "policy-test"


@dataclass(frozen=True)
class GroundingKnowledge:
    """What rules that judge statements against the knowledge base use in a run: a knowledge
    base and where it came from, or none and why (the reason a fixture failing on such a
    rule gives)."""

    knowledge: Knowledge | None
    note: str


NO_KNOWLEDGE = GroundingKnowledge(None, "no knowledge base was given for this run")


@dataclass
class _Run:
    """What one replay produced."""

    events: list[SessionEvent] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    speakers: dict[str, Speaker] = field(default_factory=dict)
    scorecard: Scorecard | None = None
    lines_played: int = 0
    ended_after: int | None = None
    error: str | None = None


def run_policy_tests(
    plan: PolicyPlan,
    fixtures: Sequence[LoadedFixture],
    grounding: GroundingKnowledge = NO_KNOWLEDGE,
) -> PolicyTestReport:
    results = tuple(
        run_fixture(plan, loaded, grounding, f"{LEARNER_ID}-{index}")
        for index, loaded in enumerate(fixtures, start=1)
    )
    return PolicyTestReport(
        policy=plan.policy.policy,
        version=plan.policy.version,
        digest=plan.digest,
        knowledge=grounding.note,
        fixtures=results,
        coverage=coverage(plan.policy, fixtures),
        passed=all(result.passed for result in results),
    )


def coverage(policy: Policy, fixtures: Sequence[LoadedFixture]) -> Coverage:
    expected_rules = {
        expected.rule for loaded in fixtures for expected in loaded.fixture.expect.findings
    }
    expected_objectives = {
        objective_id
        for loaded in fixtures
        for objective_id in loaded.fixture.expect.objectives_met or ()
    }
    return Coverage(
        unexercised_rules=tuple(
            rule.id for rule in policy.guardrails if rule.id not in expected_rules
        ),
        unexercised_objectives=tuple(
            item.id for item in policy.objectives if item.id not in expected_objectives
        ),
    )


def run_fixture(
    plan: PolicyPlan,
    loaded: LoadedFixture,
    grounding: GroundingKnowledge = NO_KNOWLEDGE,
    session_id: str = LEARNER_ID,
) -> FixtureResult:
    """Replay one fixture and compare its outcome with the expectation."""
    run = _replay(plan, loaded, grounding.knowledge, session_id)
    expect = loaded.fixture.expect
    observed = [_observed(finding, run.speakers) for finding in run.findings]
    skipped = _not_evaluated(plan, run.scorecard, grounding)
    mismatches = compare_findings(expect.findings, observed, skipped)
    met = _objectives_met(plan.policy, run.events)
    if run.error is not None:
        mismatches.insert(0, Mismatch(kind=MismatchKind.session_error, message=run.error))
    else:
        mismatches += _verdict(expect, run.scorecard)
        mismatches += _ending(expect, run, loaded)
        mismatches += _objectives(expect, met, skipped)
    return FixtureResult(
        name=loaded.name,
        file=str(loaded.path),
        passed=not mismatches,
        mismatches=tuple(mismatches),
        findings=tuple(observed),
        score=run.scorecard.score if run.scorecard else None,
        pass_mark=run.scorecard.pass_mark if run.scorecard else None,
        session_passed=run.scorecard.passed if run.scorecard else None,
        ended_by_policy=run.ended_after is not None,
        lines_played=run.lines_played,
        lines=len(loaded.fixture.transcript),
        objectives_met=tuple(sorted(met)),
        not_evaluated=tuple(sorted(skipped)),
    )


def _replay(
    plan: PolicyPlan, loaded: LoadedFixture, knowledge: Knowledge | None, session_id: str
) -> _Run:
    lines = [
        TranscriptLine(line.speaker, line.speaker.value, line.text, number)
        for line, number in zip(loaded.fixture.transcript, loaded.line_numbers, strict=True)
    ]
    session = Session(plan, learner=LEARNER_ID, session_id=session_id, knowledge=knowledge)
    run = _Run()
    try:
        run.events += session.start()
        for line, utterance in replay_inputs(lines, with_partials=False):
            run.speakers[utterance.utterance_id] = line.speaker
            run.events += session.ingest(utterance)
            run.lines_played += 1
            if session.state is not SessionState.active:
                run.ended_after = run.lines_played
                break
        if session.state is SessionState.active:
            run.events += session.end()
    except SessionError as error:
        run.error = f"the session stopped at transcript line {run.lines_played + 1}: {error}"
    run.findings = session.findings
    run.scorecard = session.scorecard
    return run


def _not_evaluated(
    plan: PolicyPlan, scorecard: Scorecard | None, grounding: GroundingKnowledge
) -> dict[str, str]:
    """What the session could not check, and why, as its scorecard says; a rule left
    unchecked for want of a knowledge base gets the run's own reason, which says how to give
    it one."""
    if scorecard is None:
        reported = dict(plan.unavailable)
    else:
        reasons = scorecard.not_evaluated_reasons
        reported = {
            rule_id: reasons.get(rule_id, "not evaluated in this session")
            for rule_id in scorecard.not_evaluated
        }
    if grounding.knowledge is None:
        needing = {rule.id for rule in plan.knowledge_rules()}
        for rule_id in needing & reported.keys():
            reported[rule_id] = grounding.note
    return reported


def _observed(finding: Finding, speakers: Mapping[str, Speaker]) -> ObservedFinding:
    return ObservedFinding(
        rule=finding.rule_id,
        turn=finding.turn,
        speaker=speakers.get(finding.utterance_id) if finding.utterance_id else None,
        severity=finding.severity,
        quote=finding.quote,
        detail=finding.detail,
    )


def _objectives_met(policy: Policy, events: Sequence[SessionEvent]) -> set[str]:
    """Objectives whose last reported progress is `satisfied` (required disclosures report
    progress under their rule id too; only the policy's objectives count here)."""
    objectives = {objective.id for objective in policy.objectives}
    state: dict[str, bool] = {}
    for event in events:
        if isinstance(event, ObjectiveProgress) and event.objective_id in objectives:
            state[event.objective_id] = event.satisfied
    return {objective_id for objective_id, satisfied in state.items() if satisfied}


def _verdict(expect: Expectation, scorecard: Scorecard | None) -> list[Mismatch]:
    if scorecard is None or scorecard.passed == expect.passed:
        return []
    wanted, got = ("pass", "failed") if expect.passed else ("fail", "passed")
    reasons = []
    if scorecard.score < scorecard.pass_mark:
        reasons.append(f"score {scorecard.score:g} is below the pass mark {scorecard.pass_mark:g}")
    else:
        reasons.append(f"score {scorecard.score:g}, pass mark {scorecard.pass_mark:g}")
    blockers = sorted({item.rule_id for item in scorecard.blockers_breached})
    if blockers:
        reasons.append(f"blocker{'s' if len(blockers) > 1 else ''} breached: {', '.join(blockers)}")
    return [
        Mismatch(
            kind=MismatchKind.verdict,
            message=f"expected the session to {wanted}; it {got} ({'; '.join(reasons)})",
            expected="passed" if expect.passed else "failed",
            actual="passed" if scorecard.passed else "failed",
        )
    ]


def _ending(expect: Expectation, run: _Run, loaded: LoadedFixture) -> list[Mismatch]:
    ended = run.ended_after is not None
    if ended == expect.ended_by_policy:
        return []
    if run.ended_after is None:
        message = "expected the policy to end the session; it ran to the end of the transcript"
    else:
        line = loaded.line_numbers[run.ended_after - 1]
        left = len(loaded.fixture.transcript) - run.ended_after
        message = (
            f"the policy ended the session at the transcript entry on line {line}"
            f"{f'; {left} later entries were not played' if left else ''} "
            "(add `ended_by_policy: true` if that is intended)"
        )
    return [
        Mismatch(
            kind=MismatchKind.ended_by_policy,
            message=message,
            expected=str(expect.ended_by_policy).lower(),
            actual=str(ended).lower(),
        )
    ]


def _objectives(expect: Expectation, met: set[str], skipped: Mapping[str, str]) -> list[Mismatch]:
    if expect.objectives_met is None:
        return []
    mismatches = []
    for objective_id in expect.objectives_met:
        if objective_id in met:
            continue
        reason = skipped.get(objective_id)
        mismatches.append(
            Mismatch(
                kind=MismatchKind.objective if reason is None else MismatchKind.not_evaluated,
                message=f"objective {objective_id} was expected to be met but was not"
                + (f": it was not evaluated, {reason}" if reason else ""),
                expected=objective_id,
            )
        )
    mismatches += [
        Mismatch(
            kind=MismatchKind.objective,
            message=f"objective {objective_id} was met, but the fixture does not list it",
            actual=objective_id,
        )
        for objective_id in sorted(met - set(expect.objectives_met))
    ]
    return mismatches
