"""Score a session against the policy's rubric, with evidence behind every point.

A criterion built from guardrails scores the share of its rules never breached. Each rule
contributes evidence either way: the findings that breached it (turn, span, quote), the place a
required disclosure was made, or the number of learner turns it stayed clean over. A criterion
built from an objective scores its completion, with each occurrence that counted as evidence. A
criterion judged by an LLM scores what the judge answered with verbatim quotes, or is not
evaluated when no judge answered. Blockers fail the session whatever the score.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from evaluators.findings import CriterionResult, EvidenceItem, Finding, Observation, Scorecard
from evaluators.objectives import ObjectiveStatus
from policies.models import Criterion, Policy, Rubric


@dataclass(frozen=True)
class Judgment:
    """An LLM judge's answer to one criterion: a score in [0, 1] and the verbatim quotes
    from the transcript it rests on (already checked to be in the transcript)."""

    score: float
    reason: str
    quotes: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class Abstention:
    """Why the judge gave no judgment; the criterion is then not evaluated."""

    reason: str


def effective_rubric(policy: Policy) -> Rubric:
    """The policy's rubric, or one that passes only a session with no breach at all."""
    if policy.rubric is not None:
        return policy.rubric
    everything = Criterion(
        id="compliance",
        title="No guardrail breached",
        weight=1.0,
        from_guardrails=[rule.id for rule in policy.guardrails],
    )
    return Rubric(pass_mark=1.0, criteria=[everything], blockers=[])


def _breach_evidence(finding: Finding) -> EvidenceItem:
    return EvidenceItem(
        rule_id=finding.rule_id,
        outcome="breached",
        turn=finding.turn,
        utterance_id=finding.utterance_id,
        span=finding.span,
        quote=finding.quote,
        note=f"{finding.severity.value}: {finding.detail}"
        + (f" [{finding.cite}]" if finding.cite else ""),
    )


def _unevaluated_evidence(rule_id: str, reason: str) -> EvidenceItem:
    return EvidenceItem(rule_id=rule_id, outcome="not_evaluated", note=f"not evaluated: {reason}")


def _objective_evidence(status: ObjectiveStatus) -> list[EvidenceItem]:
    objective = status.objective
    shown = [
        EvidenceItem(
            rule_id=objective.id,
            outcome="satisfied",
            turn=item.turn,
            utterance_id=item.utterance_id,
            span=item.span,
            quote=item.quote,
            note=item.detail,
        )
        for item in status.evidence
    ]
    if status.met_at is not None:
        return shown
    missed = EvidenceItem(
        rule_id=objective.id,
        outcome="missed",
        note=f"{status.count} of {objective.min_count}: {status.missed or 'not met'}",
    )
    return [*shown, missed]


def _judged_evidence(criterion_id: str, judgment: Judgment) -> list[EvidenceItem]:
    return [
        EvidenceItem(
            rule_id=criterion_id,
            outcome="judged",
            turn=turn,
            quote=quote,
            note=f"LLM judge, score {judgment.score:.2f}: {judgment.reason}",
        )
        for turn, quote in judgment.quotes
    ]


def _rule_evidence(
    rule_id: str,
    breaches: Sequence[Finding],
    observation: Observation | None,
    learner_turns: int,
) -> list[EvidenceItem]:
    if breaches:
        return [_breach_evidence(finding) for finding in breaches]
    if observation is not None:
        return [
            EvidenceItem(
                rule_id=rule_id,
                outcome="satisfied",
                turn=observation.turn,
                utterance_id=observation.utterance_id,
                span=observation.span,
                quote=observation.quote,
                note=f"required disclosure made at learner turn {observation.turn}",
            )
        ]
    return [
        EvidenceItem(
            rule_id=rule_id,
            outcome="clean",
            note=f"no breach in {learner_turns} learner turn{'s' if learner_turns != 1 else ''}",
        )
    ]


def score_session(
    policy: Policy,
    findings: Sequence[Finding],
    observations: Sequence[Observation],
    learner_turns: int,
    not_evaluated: Mapping[str, str] | frozenset[str] = frozenset(),
    objectives: Mapping[str, ObjectiveStatus] | None = None,
    judgments: Mapping[str, Judgment | Abstention] | None = None,
) -> Scorecard:
    """Rules in `not_evaluated` (e.g. grounding without a knowledge base) are shown as such
    and left out of their criterion's share; a criterion with no evaluated rule (or no
    judgment) is left out of the total."""
    if not isinstance(not_evaluated, Mapping):
        not_evaluated = dict.fromkeys(not_evaluated, "the session had no knowledge base")
    objectives = objectives or {}
    judgments = judgments or {}
    rubric = effective_rubric(policy)
    by_rule: dict[str, list[Finding]] = defaultdict(list)
    for finding in sorted(findings, key=lambda item: (item.turn, item.finding_id)):
        by_rule[finding.rule_id].append(finding)
    made = {observation.rule_id: observation for observation in observations}

    results = []
    scored: list[CriterionResult] = []
    for criterion in rubric.criteria:
        evidence: list[EvidenceItem] = []
        share: float | None = None
        if criterion.from_guardrails is not None:
            clean = evaluated = 0
            for rule_id in criterion.from_guardrails:
                if rule_id in not_evaluated:
                    evidence.append(_unevaluated_evidence(rule_id, not_evaluated[rule_id]))
                    continue
                breaches = by_rule.get(rule_id, [])
                evaluated += 1
                clean += not breaches
                evidence += _rule_evidence(rule_id, breaches, made.get(rule_id), learner_turns)
            share = clean / evaluated if evaluated else None
        elif criterion.from_objective is not None:
            status = objectives.get(criterion.from_objective)
            if criterion.from_objective in not_evaluated or status is None:
                reason = not_evaluated.get(criterion.from_objective, "objective not tracked")
                evidence.append(_unevaluated_evidence(criterion.from_objective, reason))
            else:
                share = status.score
                evidence += _objective_evidence(status)
        else:
            judgment = judgments.get(criterion.id, Abstention("no LLM judge is configured"))
            if isinstance(judgment, Abstention):
                evidence.append(_unevaluated_evidence(criterion.id, judgment.reason))
            else:
                share = judgment.score
                evidence += _judged_evidence(criterion.id, judgment)
        result = CriterionResult(
            id=criterion.id,
            title=criterion.title,
            weight=criterion.weight,
            score=round(share, 4) if share is not None else 1.0,
            evaluated=share is not None,
            evidence=tuple(evidence),
        )
        results.append(result)
        if share is not None:
            scored.append(result)
    total_weight = sum(result.weight for result in scored)
    # Nothing could be scored: a score without evidence is not a score, so it cannot pass.
    score = (
        round(sum(result.weight * result.score for result in scored) / total_weight, 4)
        if total_weight
        else 0.0
    )
    blockers = tuple(
        _breach_evidence(finding)
        for rule_id in rubric.blockers
        for finding in by_rule.get(rule_id, [])
    )
    return Scorecard(
        score=score,
        pass_mark=rubric.pass_mark,
        passed=bool(scored) and score >= rubric.pass_mark and not blockers,
        blockers_breached=blockers,
        criteria=tuple(results),
        learner_turns=learner_turns,
        not_evaluated=tuple(sorted(not_evaluated)),
        not_evaluated_reasons=dict(sorted(not_evaluated.items())),
    )
