"""A practice conversation: the learner's lines, the policy's flags and the persona's replies.

`Conversation` puts a Session (evaluation, escalation, recording) and a persona backend
together. For each final learner line it yields, in order: the session's events for the line
(flags, coaching, escalations); the knowledge-base passages retrieved for the reply
(`retrieval.used`, recorded); the reply streamed as `persona.delta` events; and the reply's
final, which the session evaluates like any other line (output rails: `applies_to: persona`).
A backend that can regenerate (a language model) gets one retry when the output rails flag
its reply; the flagged reply stays in the record.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from engine.events import FlagRaised, FlagRetracted, SessionEvent
from engine.inputs import FinalUtterance, PartialUtterance
from engine.persona.base import PersonaBackend, PersonaContext
from engine.session import Session, SessionState
from evaluators.findings import Finding
from evaluators.grounding import PassageLike
from policies.models import Speaker

REPLY_PASSAGES = 3


class Conversation:
    def __init__(self, session: Session, persona: PersonaBackend) -> None:
        self.session = session
        self.persona = persona
        self._replies = 0
        self._history: list[tuple[str, str]] = []
        self._raised_while_speaking: dict[str, list[Finding]] = {}

    @property
    def active(self) -> bool:
        return self.session.state is SessionState.active

    def open(self) -> Iterator[SessionEvent]:
        yield from self.session.start()
        opening = self.persona.opening()
        yield from self._persona_final(self._next_reply_id(), opening, ())

    def partial(self, utterance_id: str, revision: int, text: str) -> list[SessionEvent]:
        events = self.session.ingest(
            PartialUtterance(utterance_id=utterance_id, revision=revision, text=text)
        )
        self._raised_while_speaking.setdefault(utterance_id, []).extend(
            event.finding for event in events if isinstance(event, FlagRaised)
        )
        return events

    def say(self, utterance_id: str, text: str) -> Iterator[SessionEvent]:
        """The learner's final line, then the persona's streamed reply."""
        events = self.session.ingest(FinalUtterance(utterance_id=utterance_id, text=text))
        yield from events
        self._history.append(("learner", text))
        if not self.active:
            return
        withdrawn = {e.finding_id for e in events if isinstance(e, FlagRetracted)}
        findings = [
            finding
            for finding in self._raised_while_speaking.pop(utterance_id, [])
            if finding.finding_id not in withdrawn
        ]
        findings += [e.finding for e in events if isinstance(e, FlagRaised)]
        yield from self._respond(text, findings)
        if self.persona.finished and self.active:
            yield from self.session.end()

    def end(self) -> list[SessionEvent]:
        return self.session.end() if self.active else []

    def _respond(self, learner_text: str, findings: Sequence[Finding]) -> Iterator[SessionEvent]:
        passages: Sequence[PassageLike] = ()
        reply_id = self._next_reply_id()
        if self.session.knowledge is not None:
            passages = self.session.knowledge.search(learner_text, REPLY_PASSAGES)
            yield from self.session.retrieval_used(reply_id, passages)
        context = PersonaContext(
            learner_text=learner_text,
            turn=self.session.learner_turns,
            findings=findings,
            passages=passages,
            history=tuple(self._history),
        )
        reply_events = list(self._stream_reply(reply_id, self.persona.reply(context), passages))
        yield from reply_events
        flagged = [
            e.finding
            for e in reply_events
            if isinstance(e, FlagRaised) and e.finding.rule_kind == "grounding"
        ]
        regenerate = getattr(self.persona, "regenerate", None)
        if flagged and regenerate is not None and self.active:
            retry_id = self._next_reply_id()
            yield from self._stream_reply(retry_id, regenerate(context, flagged), passages)

    def _stream_reply(
        self, reply_id: str, deltas: Iterator[str], passages: Sequence[PassageLike]
    ) -> Iterator[SessionEvent]:
        text = ""
        for delta in deltas:
            text += delta
            yield self.session.persona_delta(reply_id, delta)
        yield from self._persona_final(reply_id, text.strip(), passages)

    def _persona_final(
        self, reply_id: str, text: str, passages: Sequence[PassageLike]
    ) -> list[SessionEvent]:
        self._history.append(("persona", text))
        return self.session.ingest(
            FinalUtterance(
                utterance_id=reply_id,
                text=text or "…",
                speaker=Speaker.persona,
                passages=tuple(passage.chunk_id for passage in passages),
            )
        )

    def _next_reply_id(self) -> str:
        self._replies += 1
        return f"persona-{self._replies}"
