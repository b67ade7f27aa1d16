"""What a detector reports: a Finding, always with the evidence it rests on.

A finding names the rule, the turn and utterance, the character span in the utterance, the text
matched (masked for personal data), why it matched, and the regulation the rule cites. The same
object is streamed to the learner, counted by the rubric and written to the audit log.
"""

from __future__ import annotations

from pydantic import Field

from policies.models import Action, Guardrail, Severity, StrictModel


class Span(StrictModel):
    """Half-open character range [start, end) in the utterance text."""

    start: int = Field(ge=0)
    end: int = Field(ge=0)


class PassageEvidence(StrictModel):
    """The knowledge-base passage a finding was judged against, quoted."""

    chunk_id: str
    document: str
    section: str
    quote: str


class Finding(StrictModel):
    """A breach of one guardrail."""

    finding_id: str = Field(description="Unique within the session: rule@utterance#n.")
    rule_id: str
    rule_kind: str
    severity: Severity
    turn: int = Field(ge=0, description="Learner turn (1-based); 0 before the first turn.")
    utterance_id: str | None = Field(description="None for session-level findings.")
    revision: int | None = Field(
        default=None, description="Partial-transcript revision that raised it; None if final."
    )
    span: Span | None = None
    quote: str | None = Field(default=None, description="Matched text; masked for PII.")
    detail: str = Field(description="Why it matched: the pattern, entity or missing disclosure.")
    cite: str | None = None
    actions: tuple[Action, ...] = ()
    coach: str | None = None
    passage: PassageEvidence | None = None


class Observation(StrictModel):
    """Positive evidence: a required disclosure made, with where it was made."""

    rule_id: str
    turn: int
    utterance_id: str
    span: Span
    quote: str


class EvidenceItem(StrictModel):
    """One piece of evidence behind a rubric criterion's score."""

    rule_id: str
    outcome: str = Field(
        description="breached | satisfied | clean | missed | judged | not_evaluated"
    )
    turn: int | None = None
    utterance_id: str | None = None
    span: Span | None = None
    quote: str | None = None
    note: str


class CriterionResult(StrictModel):
    id: str
    title: str | None
    weight: float
    score: float = Field(ge=0, le=1)
    evaluated: bool = Field(default=True, description="False: left out of the total score.")
    evidence: tuple[EvidenceItem, ...]


class Scorecard(StrictModel):
    """The end-of-session score: every criterion with its evidence, blockers first."""

    score: float = Field(ge=0, le=1)
    pass_mark: float
    passed: bool
    blockers_breached: tuple[EvidenceItem, ...]
    criteria: tuple[CriterionResult, ...]
    learner_turns: int
    not_evaluated: tuple[str, ...] = Field(
        default=(), description="Rules that could not be checked in this session."
    )
    not_evaluated_reasons: dict[str, str] = Field(
        default_factory=dict, description="Why each of those rules could not be checked."
    )


def rule_finding(
    rule: Guardrail,
    finding_id: str,
    turn: int,
    utterance_id: str | None,
    detail: str,
    *,
    revision: int | None = None,
    span: Span | None = None,
    quote: str | None = None,
    passage: PassageEvidence | None = None,
) -> Finding:
    """A finding of `rule`: what the rule says (severity, citation, actions, coaching) plus
    where and why it was breached."""
    return Finding(
        finding_id=finding_id,
        rule_id=rule.id,
        rule_kind=rule.kind,
        severity=rule.severity,
        turn=turn,
        utterance_id=utterance_id,
        revision=revision,
        span=span,
        quote=quote,
        detail=detail,
        cite=rule.cite,
        actions=tuple(rule.on_violation),
        coach=rule.coach,
        passage=passage,
    )
