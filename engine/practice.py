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
from dataclasses import dataclass

from engine.events import FlagRaised, FlagRetracted, SessionEvent
from engine.inputs import FinalUtterance, PartialUtterance
from engine.persona.base import PersonaBackend, PersonaContext
from engine.session import Session, SessionState
from evaluators.findings import Finding
from evaluators.grounding import PassageLike
from policies.models import Speaker

REPLY_PASSAGES = 3


@dataclass(frozen=True, slots=True)
class HeardLine:
    """A learner's final line and the session's events for it, awaiting the persona."""

    utterance_id: str
    text: str
    events: list[SessionEvent]


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
        heard = self.hear(utterance_id, text)
        yield from heard.events
        yield from self.answer(heard)

    def hear(self, utterance_id: str, text: str) -> HeardLine:
        """The session's judgement of the learner's final line (flags, coaching,
        escalations), without the reply: a server shows it as soon as it is recorded,
        while the persona is still thinking (`answer`)."""
        events = self.session.ingest(FinalUtterance(utterance_id=utterance_id, text=text))
        self._history.append(("learner", text))
        return HeardLine(utterance_id, text, events)

    def answer(self, heard: HeardLine) -> Iterator[SessionEvent]:
        """The persona's streamed reply to a line `hear` judged, knowing what was flagged in
        it (partials included, less what the final withdrew); the session ends here if the
        persona has nothing more to say."""
        if not self.active:
            return
        events = heard.events
        withdrawn = {e.finding_id for e in events if isinstance(e, FlagRetracted)}
        findings = [
            finding
            for finding in self._raised_while_speaking.pop(heard.utterance_id, [])
            if finding.finding_id not in withdrawn
        ]
        findings += [e.finding for e in events if isinstance(e, FlagRaised)]
        yield from self._respond(heard.text, findings)
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
