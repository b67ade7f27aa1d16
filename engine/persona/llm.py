"""A persona voiced by any LangChain chat model, streaming its reply token by token.

The model is told who it plays (the scenario), what it knows (the retrieved passages, which it
must not contradict), and how to steer this turn (reactions to the rules the learner just
breached). The prompt is assembled by `persona_messages`, a pure function tested on its own.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from engine.persona.base import PersonaContext
from engine.scenarios import Scenario
from evaluators.findings import Finding


def _system_prompt(scenario: Scenario) -> str:
    persona = scenario.persona
    lines = [
        f"You are {persona.name}, {persona.role}. You are in a role-play used to train the "
        "person you are talking to; stay in character and never mention the training.",
        f"Disposition: {persona.disposition}.",
        "Answer in one to three short spoken sentences.",
    ]
    if persona.goals:
        lines.append("Things you want to find out, one at a time: " + " | ".join(persona.goals))
    if scenario.facts:
        lines.append(
            "Facts about you, to reveal only when the learner asks about them: "
            + " | ".join(fact.says for fact in scenario.facts)
        )
    if scenario.objections:
        lines.append(
            "Objections you may raise when they fit: "
            + " | ".join(objection.says for objection in scenario.objections)
        )
    return "\n".join(lines)


def _knowledge_prompt(scenario: Scenario, context: PersonaContext) -> str | None:
    if not context.passages:
        return None
    quoted = "\n".join(f"[{passage.chunk_id}] {passage.text}" for passage in context.passages)
    return (
        f"{scenario.knowledge_label} (approved material). Any figure you state must appear "
        f"here exactly; never invent or change a number:\n{quoted}"
    )


def _steering_prompt(scenario: Scenario, findings: Sequence[Finding]) -> str | None:
    reactions = [
        f'The learner\'s last line breached "{finding.rule_id}" ({finding.detail}). React: '
        + scenario.reactions[finding.rule_id]
        for finding in findings
        if finding.rule_id in scenario.reactions
    ]
    return "\n".join(reactions) if reactions else None


def persona_messages(
    scenario: Scenario, context: PersonaContext, correction: str | None = None
) -> list[BaseMessage]:
    """System prompt (role, knowledge, steering), the conversation so far, the learner's line."""
    system = [_system_prompt(scenario)]
    system += [
        part
        for part in (
            _knowledge_prompt(scenario, context),
            _steering_prompt(scenario, context.findings),
            correction,
        )
        if part
    ]
    messages: list[BaseMessage] = [SystemMessage("\n\n".join(system))]
    for speaker, text in context.history:
        messages.append(AIMessage(text) if speaker == "persona" else HumanMessage(text))
    if not context.history or context.history[-1] != ("learner", context.learner_text):
        messages.append(HumanMessage(context.learner_text))
    return messages


class LangChainPersona:
    def __init__(self, scenario: Scenario, model: BaseChatModel) -> None:
        self._scenario = scenario
        self._model = model
        self._finished = False

    @property
    def finished(self) -> bool:
        return self._finished

    def opening(self) -> str:
        return self._scenario.persona.opening

    def reply(self, context: PersonaContext) -> Iterator[str]:
        if context.turn >= self._scenario.max_turns:
            self._finished = True
        yield from self._stream(persona_messages(self._scenario, context))

    def regenerate(self, context: PersonaContext, flagged: Sequence[Finding]) -> Iterator[str]:
        """One more try after the output rails flagged the reply."""
        problems = "; ".join(finding.detail for finding in flagged)
        correction = (
            f"Your previous reply contradicted the approved material ({problems}). "
            "Say it again using only figures that appear in the approved material."
        )
        yield from self._stream(persona_messages(self._scenario, context, correction))

    def _stream(self, messages: list[BaseMessage]) -> Iterator[str]:
        for chunk in self._model.stream(messages):
            text = chunk.text if isinstance(chunk.text, str) else str(chunk.content)
            if text:
                yield text
