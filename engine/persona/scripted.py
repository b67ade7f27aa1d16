"""The offline persona: deterministic, grounded in the scenario and the knowledge base.

It works without any language model. Each learner line is matched by meaning (sentence
embeddings) against the scenario's intents, facts and objection resolutions. The reply is
assembled from what the situation calls for, in order: a reaction when the learner breached a
rule; a correction quoting the knowledge base when the learner misstated a quantity; the
acknowledgement of an objection the learner resolved; a fact the learner's question uncovers;
the intent's own reply (quoting the knowledge base where the intent asks for it); an objection
the line triggers; otherwise the persona's next open question. State (facts revealed,
objections raised and resolved, replies used) makes a conversation, not a set of echoes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from engine.persona.base import PersonaContext, TextEmbedder
from engine.scenarios import Intent, Objection, Scenario
from engine.session import Knowledge
from evaluators.grounding import contradictions, quantities, sentence_around

INTENT_THRESHOLD = 0.5
FACT_THRESHOLD = 0.45
RESOLUTION_THRESHOLD = 0.65
QUOTE_THRESHOLD = 0.3
GROUNDING_SIMILARITY = 0.35
_FALLBACKS = (
    "I'm not sure I follow. What exactly are you suggesting?",
    "Go on.",
    "And what does that mean for me, in practice?",
)


class _ExampleIndex:
    """Rows of example embeddings with the label each row belongs to."""

    def __init__(self, embedder: TextEmbedder, labelled: Sequence[tuple[int, str]]) -> None:
        self.labels = [label for label, _ in labelled]
        texts = [text for _, text in labelled]
        self.matrix: NDArray[np.float32] = (
            embedder.embed(texts) if texts else np.zeros((0, 1), dtype=np.float32)
        )

    def best(
        self, query: NDArray[np.float32], allowed: set[int] | None = None
    ) -> tuple[int, float]:
        """Best label and its similarity (max over that label's examples); (-1, 0) if none."""
        if not self.labels:
            return -1, 0.0
        scores = self.matrix @ query
        best_label, best_score = -1, 0.0
        for label, score in zip(self.labels, scores, strict=True):
            if (allowed is None or label in allowed) and score > best_score:
                best_label, best_score = label, float(score)
        return best_label, best_score


@dataclass
class _State:
    revealed: set[int] = field(default_factory=set)
    raised: set[str] = field(default_factory=set)
    resolved: set[str] = field(default_factory=set)
    replies_used: dict[str, int] = field(default_factory=dict)
    goals_asked: int = 0
    fallbacks_used: int = 0
    last_reply: str = ""
    finished: bool = False


class ScriptedPersona:
    def __init__(
        self, scenario: Scenario, embedder: TextEmbedder, knowledge: Knowledge | None = None
    ) -> None:
        self._scenario = scenario
        self._embedder = embedder
        self._knowledge = knowledge
        self._intents = _ExampleIndex(
            embedder,
            [(i, text) for i, intent in enumerate(scenario.intents) for text in intent.examples],
        )
        self._facts = _ExampleIndex(
            embedder, [(i, text) for i, fact in enumerate(scenario.facts) for text in fact.about]
        )
        self._resolutions = _ExampleIndex(
            embedder,
            [(i, text) for i, o in enumerate(scenario.objections) for text in o.resolved_by],
        )
        self._state = _State()

    @property
    def finished(self) -> bool:
        return self._state.finished

    def opening(self) -> str:
        return self._scenario.persona.opening

    def reply(self, context: PersonaContext) -> Iterator[str]:
        text = self._compose(context)
        self._state.last_reply = text
        words = text.split(" ")
        for index, word in enumerate(words):
            yield word if index == len(words) - 1 else word + " "

    def _compose(self, context: PersonaContext) -> str:
        reaction = self._reaction(context)
        if reaction is not None:
            return " ".join([reaction, *self._corrections(context, challenged=True)])
        query = self._embedder.embed([context.learner_text])[0]
        parts = [
            *self._corrections(context),
            *self._resolutions_of_open_objections(query),
        ]
        fact = self._fact_for(query) if _is_question(context.learner_text) else []
        # A question that uncovers a fact is answered by the fact, not by a canned intent reply.
        intent = None if fact else self._intent(query)
        parts += fact
        if intent is not None:
            parts += self._intent_reply(intent, context)
        parts += self._objections_due(intent, context.turn)
        if (intent is not None and intent.closes) or context.turn >= self._scenario.max_turns:
            self._state.finished = True
            parts.append(self._scenario.persona.closing)
        if not parts:
            parts.append(self._next_question())
        return " ".join(_dedupe(parts))

    def _reaction(self, context: PersonaContext) -> str | None:
        ranked = sorted(context.findings, key=lambda finding: -finding.severity.rank)
        for finding in ranked:
            reaction = self._scenario.reactions.get(finding.rule_id)
            if reaction is not None:
                return reaction
        return None

    def _corrections(self, context: PersonaContext, challenged: bool = False) -> list[str]:
        if not quantities(context.learner_text) or not context.passages:
            return []
        found = contradictions(context.learner_text, context.passages, GROUNDING_SIMILARITY)
        if not found:
            return []
        first = found[0]
        quote = sentence_around(first.passage.text, first.stated[0].start)
        lead = "" if challenged else "That's not what I have read. "
        return [f'{lead}{self._scenario.knowledge_label} says: "{quote}"']

    def _resolutions_of_open_objections(self, query: NDArray[np.float32]) -> list[str]:
        open_ids = {
            index
            for index, objection in enumerate(self._scenario.objections)
            if objection.id in self._state.raised and objection.id not in self._state.resolved
        }
        if not open_ids:
            return []
        index, score = self._resolutions.best(query, open_ids)
        if index < 0 or score < RESOLUTION_THRESHOLD:
            return []
        objection = self._scenario.objections[index]
        self._state.resolved.add(objection.id)
        return [objection.accepted]

    def _intent(self, query: NDArray[np.float32]) -> Intent | None:
        index, score = self._intents.best(query)
        return self._scenario.intents[index] if index >= 0 and score >= INTENT_THRESHOLD else None

    def _fact_for(self, query: NDArray[np.float32]) -> list[str]:
        unrevealed = set(range(len(self._scenario.facts))) - self._state.revealed
        index, score = self._facts.best(query, unrevealed)
        if index < 0 or score < FACT_THRESHOLD:
            return []
        self._state.revealed.add(index)
        return [self._scenario.facts[index].says]

    def _intent_reply(self, intent: Intent, context: PersonaContext) -> list[str]:
        used = self._state.replies_used.get(intent.id, 0)
        self._state.replies_used[intent.id] = used + 1
        parts = [intent.replies[used % len(intent.replies)]]
        if intent.quote_knowledge:
            quote = self._quote(context)
            if quote:
                parts.append(f'{self._scenario.knowledge_label} says: "{quote}"')
        return parts

    def _quote(self, context: PersonaContext) -> str | None:
        passages = [p for p in context.passages if p.score >= QUOTE_THRESHOLD]
        if not passages:
            return None
        best = max(passages, key=lambda passage: passage.score)
        sentences = [s for s in _sentences(best.text) if len(s) > 20]
        if not sentences:
            return None
        vectors = self._embedder.embed([context.learner_text, *sentences])
        scores = vectors[1:] @ vectors[0]
        return sentences[int(np.argmax(scores))]

    def _objections_due(self, intent: Intent | None, turn: int) -> list[str]:
        due: list[Objection] = [
            objection
            for objection in self._scenario.objections
            if objection.id not in self._state.raised
            and (
                (intent is not None and objection.after_intent == intent.id)
                or (objection.after_turn is not None and objection.after_turn <= turn)
            )
        ]
        if not due:
            return []
        objection = due[0]
        self._state.raised.add(objection.id)
        return [objection.says]

    def _next_question(self) -> str:
        goals = self._scenario.persona.goals
        if self._state.goals_asked < len(goals):
            self._state.goals_asked += 1
            return goals[self._state.goals_asked - 1]
        self._state.fallbacks_used += 1
        return _FALLBACKS[(self._state.fallbacks_used - 1) % len(_FALLBACKS)]


def _is_question(text: str) -> bool:
    stripped = text.strip().lower()
    starts = ("how", "what", "why", "when", "where", "who", "which", "do ", "does", "are", "is ")
    return stripped.endswith("?") or stripped.startswith(starts) or "tell me" in stripped


def _sentences(text: str) -> list[str]:
    sentences: list[str] = []
    offset = 0
    while offset < len(text):
        sentence = sentence_around(text, offset)
        if not sentence:
            offset += 1
            continue
        sentences.append(sentence)
        found = text.find(sentence, offset)
        offset = (found if found >= 0 else offset) + len(sentence) + 1
    return sentences


def _dedupe(parts: list[str]) -> list[str]:
    seen: list[str] = []
    for part in parts:
        if part not in seen:
            seen.append(part)
    return seen
