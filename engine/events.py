"""The one stream of session events.

Every event is a pydantic model in one discriminated union, `SessionEvent`. The same objects are
streamed to the learner's client and appended to the audit log, so what the learner saw and what
the auditor verifies cannot diverge. Two kinds are transient: partial transcripts and persona
token deltas are recogniser/model hypotheses superseded by a final; they are streamed but not
recorded (the flags they raise are recorded, with the revision that raised them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from evaluators.findings import Finding, Observation, Scorecard, Span
from policies.models import Speaker


class PolicyVersion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    version: int
    digest: str


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    durable: ClassVar[bool] = True
    session_id: str
    at: datetime


class SessionStarted(_Event):
    type: Literal["session.started"] = "session.started"
    learner: str = Field(description="Pseudonymous learner id; never a name or e-mail.")
    policy: PolicyVersion
    scenario: str | None = None
    knowledge_base: str | None = None
    knowledge_base_digest: str | None = None


class UtterancePartial(_Event):
    durable: ClassVar[bool] = False
    type: Literal["utterance.partial"] = "utterance.partial"
    utterance_id: str
    revision: int
    speaker: Speaker = Speaker.learner
    text: str


class UtteranceFinal(_Event):
    type: Literal["utterance.final"] = "utterance.final"
    utterance_id: str
    turn: int
    speaker: Speaker
    text: str = Field(description="As recorded: personal data masked where the policy redacts.")
    redacted: tuple[Span, ...] = ()


class PersonaDelta(_Event):
    durable: ClassVar[bool] = False
    type: Literal["persona.delta"] = "persona.delta"
    utterance_id: str
    delta: str


class PersonaFinal(_Event):
    type: Literal["persona.final"] = "persona.final"
    utterance_id: str
    turn: int
    text: str
    passages: tuple[str, ...] = Field(default=(), description="Knowledge-base chunk ids used.")


class RetrievalUsed(_Event):
    type: Literal["retrieval.used"] = "retrieval.used"
    utterance_id: str
    knowledge_base: str
    passages: tuple[str, ...]


class FlagRaised(_Event):
    type: Literal["flag.raised"] = "flag.raised"
    finding: Finding
    provisional: bool = Field(description="Raised on a partial transcript.")


class FlagRetracted(_Event):
    type: Literal["flag.retracted"] = "flag.retracted"
    finding_id: str
    rule_id: str
    reason: str


class CoachingHint(_Event):
    type: Literal["coaching.hint"] = "coaching.hint"
    finding_id: str
    rule_id: str
    text: str


class ObjectiveProgress(_Event):
    """A required disclosure made, or an objective advanced, met or missed."""

    type: Literal["objective.progress"] = "objective.progress"
    objective_id: str
    satisfied: bool
    evidence: Observation | None = None
    count: int | None = Field(default=None, description="Occurrences counted so far.")
    required: int | None = Field(default=None, description="Occurrences needed to meet it.")
    missed: str | None = Field(default=None, description="Why it can no longer be met.")


class CheckFailed(_Event):
    """A rule's check could not run (model error, timeout): never silent. `blocked` when the
    rule failed closed and counted as breached; otherwise the rule is not evaluated."""

    type: Literal["check.failed"] = "check.failed"
    rule_id: str
    utterance_id: str | None
    reason: str
    blocked: bool


class EscalationTriggered(_Event):
    type: Literal["escalation.triggered"] = "escalation.triggered"
    trigger: str = Field(description="rule:<id> or escalation[<index>] of the policy.")
    finding_ids: tuple[str, ...]
    severity: str
    channels: tuple[str, ...]
    ends_session: bool = False
    review: bool = False


class ScoreComputed(_Event):
    type: Literal["score.computed"] = "score.computed"
    scorecard: Scorecard


EndReason = Literal["completed", "ended_by_policy", "abandoned"]


class SessionEnded(_Event):
    type: Literal["session.ended"] = "session.ended"
    reason: EndReason
    learner_turns: int
    findings: int


SessionEvent = Annotated[
    SessionStarted
    | UtterancePartial
    | UtteranceFinal
    | PersonaDelta
    | PersonaFinal
    | RetrievalUsed
    | FlagRaised
    | FlagRetracted
    | CoachingHint
    | ObjectiveProgress
    | CheckFailed
    | EscalationTriggered
    | ScoreComputed
    | SessionEnded,
    Field(discriminator="type"),
]

session_event_adapter: TypeAdapter[SessionEvent] = TypeAdapter(SessionEvent)


def event_to_json(event: _Event) -> dict[str, Any]:
    """The event's JSON form, as streamed and as recorded."""
    dumped: dict[str, Any] = event.model_dump(mode="json")
    return dumped


def event_from_json(data: dict[str, Any]) -> SessionEvent:
    return session_event_adapter.validate_python(data)
