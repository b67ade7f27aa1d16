"""The session loop: utterances in, events out, every durable event recorded before it is returned.

A Session owns one learner's practice run against one compiled policy. `ingest` evaluates a
partial or final utterance, reacts to new findings (coaching, escalation, ending the session) and
hands the resulting events to the recorder in one batch. If the recorder cannot make them
durable, the session fails closed: it raises and accepts nothing more, so there is no practice
that the audit log does not hold.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol

from engine.clock import Clock, system_clock
from engine.escalation import Escalator
from engine.events import (
    CheckFailed,
    EndReason,
    EscalationTriggered,
    FlagRaised,
    FlagRetracted,
    ObjectiveProgress,
    PersonaDelta,
    PersonaFinal,
    PolicyVersion,
    RetrievalUsed,
    ScoreComputed,
    SessionEnded,
    SessionEvent,
    SessionStarted,
    UtteranceFinal,
    UtterancePartial,
)
from engine.inputs import FinalUtterance, PartialUtterance, UtteranceInput
from evaluators.findings import Finding, Observation, Scorecard
from evaluators.grounding import PassageLike
from evaluators.judge import JudgedLine, LLMJudge
from evaluators.matching import texts_to_prefetch
from evaluators.objectives import ObjectiveStatus
from evaluators.occurrences import PassageSearch
from evaluators.plan import PolicyPlan
from evaluators.rubric import Abstention, Judgment
from evaluators.session import (
    NO_KNOWLEDGE,
    FinalOutcome,
    SessionEvaluator,
    UtteranceClosedError,
)
from policies.models import LexicalRule, Speaker

GROUNDING_PASSAGES = 3


class Knowledge(Protocol):
    """A searchable knowledge base (knowledge_base.KnowledgeBase fits)."""

    @property
    def name(self) -> str: ...
    @property
    def digest(self) -> str: ...
    def search(self, query: str, k: int = 3) -> Sequence[PassageLike]: ...


class EventRecorder(Protocol):
    """Makes events durable; raises if it cannot."""

    def record(
        self, session_id: str, policy: PolicyVersion, events: Sequence[SessionEvent]
    ) -> None: ...


class Notifier(Protocol):
    def notify(self, escalation: EscalationTriggered) -> None: ...


class SessionState(StrEnum):
    created = "created"
    active = "active"
    ended = "ended"
    failed = "failed"


class SessionError(Exception):
    """Base class for errors a client of the session loop should show to a person."""


class SessionNotActiveError(SessionError):
    pass


class InvalidUtteranceError(SessionError):
    pass


class RecordingFailedError(SessionError):
    """The audit log could not make events durable; the session is closed."""


class Session:
    def __init__(
        self,
        plan: PolicyPlan,
        *,
        learner: str,
        session_id: str | None = None,
        recorder: EventRecorder | None = None,
        notifier: Notifier | None = None,
        clock: Clock = system_clock,
        scenario: str | None = None,
        knowledge: Knowledge | None = None,
        judge: LLMJudge | None = None,
    ) -> None:
        """`judge` answers the rubric's `from_judge` criteria when the session ends (off the
        real-time path); without one they are not evaluated."""
        self.plan = plan
        self.knowledge = knowledge
        self.learner = learner
        self.session_id = session_id or str(uuid.uuid4())
        self.scenario = scenario
        self.policy_version = PolicyVersion(
            id=plan.policy.policy, version=plan.policy.version, digest=plan.digest
        )
        self._recorder = recorder
        self._notifier = notifier
        self._clock = clock
        ungrounded = (
            {rule.id: NO_KNOWLEDGE for rule in plan.grounding_rules} if knowledge is None else {}
        )
        self._evaluator = SessionEvaluator(plan, ungrounded)
        self._judge = judge or LLMJudge(None)
        self._transcript: list[JudgedLine] = []
        self._escalator = Escalator(plan.policy, self.session_id, clock)
        self.state = SessionState.created
        self.scorecard: Scorecard | None = None
        self._pending_end: dict[str, set[str]] = {}

    @property
    def findings(self) -> list[Finding]:
        return self._evaluator.findings

    @property
    def learner_turns(self) -> int:
        return self._evaluator.learner_turns

    def start(self) -> list[SessionEvent]:
        if self.state is not SessionState.created:
            raise SessionNotActiveError(f"session {self.session_id} was already started")
        self.state = SessionState.active
        started = SessionStarted(
            session_id=self.session_id,
            at=self._clock(),
            learner=self.learner,
            policy=self.policy_version,
            scenario=self.scenario,
            knowledge_base=self.knowledge.name if self.knowledge else None,
            knowledge_base_digest=self.knowledge.digest if self.knowledge else None,
        )
        return self._emit([started])

    def persona_delta(self, utterance_id: str, delta: str) -> PersonaDelta:
        """A streamed fragment of a persona reply (transient: the final is what is recorded)."""
        self._require_active()
        return PersonaDelta(
            session_id=self.session_id, at=self._clock(), utterance_id=utterance_id, delta=delta
        )

    def retrieval_used(
        self, utterance_id: str, passages: Sequence[PassageLike]
    ) -> list[SessionEvent]:
        """Record which knowledge-base passages a reply was built from."""
        self._require_active()
        if self.knowledge is None:
            raise SessionError("this session has no knowledge base")
        event = RetrievalUsed(
            session_id=self.session_id,
            at=self._clock(),
            utterance_id=utterance_id,
            knowledge_base=self.knowledge.name,
            passages=tuple(passage.chunk_id for passage in passages),
        )
        return self._emit([event])

    def ingest(self, utterance: UtteranceInput) -> list[SessionEvent]:
        self._require_active()
        try:
            if isinstance(utterance, PartialUtterance):
                events, ends = self._partial(utterance)
            else:
                events, ends = self._final(utterance)
        except UtteranceClosedError as error:
            raise InvalidUtteranceError(str(error)) from None
        if ends:
            events += self._finishing_events("ended_by_policy")
        return self._emit(events)

    def texts_to_prefetch(self, partial_text: str) -> list[str]:
        """Texts the learner's final will have embedded, as far as `partial_text` settles
        them: a caller with spare time embeds them early so the final finds them cached."""
        return texts_to_prefetch(self.plan, partial_text, Speaker.learner)

    def end(self, reason: EndReason = "completed") -> list[SessionEvent]:
        self._require_active()
        return self._emit(self._finishing_events(reason))

    def _finishing_events(self, reason: EndReason) -> list[SessionEvent]:
        """Missing disclosures become findings, then the score, then the end."""
        missing = self._evaluator.end()
        events: list[SessionEvent] = [self._flag(finding) for finding in missing]
        events += self._escalator.react(missing).events
        events += [self._objective_progress(status) for status in self._evaluator.closed_at_end]
        return events + self._closing_events(reason)

    def _partial(self, utterance: PartialUtterance) -> tuple[list[SessionEvent], bool]:
        new = self._evaluator.partial(
            utterance.utterance_id, utterance.revision, utterance.text, utterance.speaker
        )
        events: list[SessionEvent] = [
            UtterancePartial(
                session_id=self.session_id,
                at=self._clock(),
                utterance_id=utterance.utterance_id,
                revision=utterance.revision,
                speaker=utterance.speaker,
                text=utterance.text,
            )
        ]
        events, ending = self._with_reactions(events, new)
        # A provisional flag may still be withdrawn by the final transcript: end only then.
        if ending:
            self._pending_end.setdefault(utterance.utterance_id, set()).update(ending)
        return events, False

    def _final(self, utterance: FinalUtterance) -> tuple[list[SessionEvent], bool]:
        knowledge = self.knowledge
        passages: PassageSearch | tuple[()] = ()
        if knowledge is not None and self.plan.needs_passages(utterance.speaker):
            text = utterance.text

            def passages() -> Sequence[PassageLike]:
                return knowledge.search(text, GROUNDING_PASSAGES)

        outcome = self._evaluator.final(
            utterance.utterance_id, utterance.text, utterance.speaker, passages
        )
        events: list[SessionEvent] = [self._final_event(utterance, outcome)]
        events += [self._flag(finding) for finding in outcome.confirmed]
        self._transcript.append(
            JudgedLine(outcome.turn, utterance.speaker.value, outcome.recordable_text)
        )
        withdrawn = {finding.finding_id for finding in outcome.retracted}
        self._escalator.withdraw(withdrawn)
        confirmed_end = self._pending_end.pop(utterance.utterance_id, set()) - withdrawn
        events += [
            FlagRetracted(
                session_id=self.session_id,
                at=self._clock(),
                finding_id=finding.finding_id,
                rule_id=finding.rule_id,
                reason=self._retraction_reason(finding.rule_id),
            )
            for finding in outcome.retracted
        ]
        events += [
            ObjectiveProgress(
                session_id=self.session_id,
                at=self._clock(),
                objective_id=observation.rule_id,
                satisfied=True,
                evidence=observation,
            )
            for observation in outcome.observations
        ]
        events += [self._objective_progress(status) for status in outcome.objectives]
        events += [
            CheckFailed(
                session_id=self.session_id,
                at=self._clock(),
                rule_id=failure.rule_id,
                utterance_id=failure.utterance_id,
                reason=failure.reason,
                blocked=failure.blocked,
            )
            for failure in outcome.check_failures
        ]
        events, ending = self._with_reactions(events, outcome.new_findings)
        return events, bool(ending or confirmed_end)

    def _retraction_reason(self, rule_id: str) -> str:
        rule = self.plan.rules.get(rule_id)
        if isinstance(rule, LexicalRule) and rule.unless is not None:
            return "not upheld by the final transcript: absent, or supported by the knowledge base"
        return "not present in the final transcript"

    def _objective_progress(self, status: ObjectiveStatus) -> ObjectiveProgress:
        latest = status.evidence[-1] if status.evidence else None
        evidence = (
            Observation(
                rule_id=status.objective.id,
                turn=latest.turn,
                utterance_id=latest.utterance_id,
                span=latest.span,
                quote=latest.quote,
            )
            if latest
            else None
        )
        return ObjectiveProgress(
            session_id=self.session_id,
            at=self._clock(),
            objective_id=status.objective.id,
            satisfied=status.met_at is not None,
            evidence=evidence,
            count=status.count,
            required=status.objective.min_count,
            missed=status.missed,
        )

    def _final_event(
        self, utterance: FinalUtterance, outcome: FinalOutcome
    ) -> UtteranceFinal | PersonaFinal:
        if utterance.speaker is Speaker.persona:
            return PersonaFinal(
                session_id=self.session_id,
                at=self._clock(),
                utterance_id=utterance.utterance_id,
                turn=outcome.turn,
                text=outcome.recordable_text,
                passages=utterance.passages,
            )
        return UtteranceFinal(
            session_id=self.session_id,
            at=self._clock(),
            utterance_id=utterance.utterance_id,
            turn=outcome.turn,
            speaker=utterance.speaker,
            text=outcome.recordable_text,
            redacted=tuple(outcome.redacted_spans),
        )

    def _with_reactions(
        self, events: list[SessionEvent], new: Sequence[Finding]
    ) -> tuple[list[SessionEvent], set[str]]:
        """Flags for new findings and the reactions to them; returns the findings that end
        the session, if any."""
        events += [self._flag(finding) for finding in new]
        reaction = self._escalator.react(new)
        events += reaction.events
        return events, reaction.ending_findings

    def _flag(self, finding: Finding) -> FlagRaised:
        return FlagRaised(
            session_id=self.session_id,
            at=self._clock(),
            finding=finding,
            provisional=finding.revision is not None,
        )

    def _judgments(self) -> dict[str, Judgment | Abstention]:
        rubric = self.plan.policy.rubric
        criteria = rubric.criteria if rubric is not None else []
        return {
            criterion.id: self._judge.judge(criterion.from_judge, self._transcript)
            for criterion in criteria
            if criterion.from_judge is not None
        }

    def _closing_events(self, reason: EndReason) -> list[SessionEvent]:
        self.scorecard = self._evaluator.scorecard(self._judgments())
        return [
            ScoreComputed(session_id=self.session_id, at=self._clock(), scorecard=self.scorecard),
            SessionEnded(
                session_id=self.session_id,
                at=self._clock(),
                reason=reason,
                learner_turns=self.learner_turns,
                findings=len(self.findings),
            ),
        ]

    def _require_active(self) -> None:
        if self.state is not SessionState.active:
            raise SessionNotActiveError(f"session {self.session_id} is {self.state.value}")

    def recording_failed(self, error: Exception) -> RecordingFailedError:
        """Fail the session because `error` kept its events from being recorded (by this
        session, or by a caller that wrote records it held back: `engine.held_recording`);
        returns the error to raise."""
        self.state = SessionState.failed
        failure = RecordingFailedError(
            f"session {self.session_id} stopped: audit record not durable ({error})"
        )
        failure.__cause__ = error
        return failure

    def _emit(self, events: list[SessionEvent]) -> list[SessionEvent]:
        durable = [event for event in events if event.durable]
        if self._recorder is not None and durable:
            try:
                self._recorder.record(self.session_id, self.policy_version, durable)
            except Exception as error:
                raise self.recording_failed(error) from error
        if any(isinstance(event, SessionEnded) for event in events):
            self.state = SessionState.ended
        if self._notifier is not None:
            for event in events:
                if isinstance(event, EscalationTriggered) and event.channels:
                    self._notifier.notify(event)
        return events
