"""Detectors and scoring: compiled policy plans, findings with evidence, rubric scorecards."""

from evaluators.findings import (
    CriterionResult,
    EvidenceItem,
    Finding,
    Observation,
    Scorecard,
    Span,
)
from evaluators.lexical import PatternError
from evaluators.pii import PiiHit, find_pii
from evaluators.plan import PolicyPlan, compile_policy
from evaluators.rubric import score_session
from evaluators.session import FinalOutcome, SessionEvaluator, UtteranceClosedError

__all__ = [
    "CriterionResult",
    "EvidenceItem",
    "FinalOutcome",
    "Finding",
    "Observation",
    "PatternError",
    "PiiHit",
    "PolicyPlan",
    "Scorecard",
    "SessionEvaluator",
    "Span",
    "UtteranceClosedError",
    "compile_policy",
    "find_pii",
    "score_session",
]
