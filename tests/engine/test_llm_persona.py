"""The LangChain persona backend: prompt assembly, token streaming, output rails with one retry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from engine import FlagRaised, PersonaDelta, PersonaFinal, Session
from engine.persona.base import PersonaContext
from engine.persona.llm import LangChainPersona, persona_messages
from engine.planning import plan_policy
from engine.practice import Conversation
from engine.scenarios import load_scenario
from evaluators import Finding
from policies import Severity, load_policy, pack_path

SCENARIO = load_scenario(pack_path("pharma") / "gp_visit.yaml")


@dataclass(frozen=True)
class FakePassage:
    chunk_id: str
    document: str
    section: str
    text: str
    score: float


def finding(rule_id: str) -> Finding:
    return Finding(
        finding_id=f"{rule_id}@u1#0",
        rule_id=rule_id,
        rule_kind="lexical",
        severity=Severity.critical,
        turn=1,
        utterance_id="u1",
        detail='phrase "migraine"',
    )


def test_prompt_carries_role_knowledge_steering_and_history() -> None:
    passage = FakePassage(
        "doc#3", "velmora-label.md", "Indications", "Indicated for hypertension.", 0.8
    )
    context = PersonaContext(
        learner_text="It also works for migraine.",
        turn=2,
        findings=[finding("no-off-label")],
        passages=[passage],
        history=[("persona", SCENARIO.persona.opening), ("learner", "It also works for migraine.")],
    )
    messages = persona_messages(SCENARIO, context)
    system = messages[0]
    assert isinstance(system, SystemMessage)
    text = str(system.content)
    assert "You are Dr Amira Shah" in text
    assert "[doc#3] Indicated for hypertension." in text
    assert "never invent or change a number" in text
    assert SCENARIO.reactions["no-off-label"] in text
    assert [type(m) for m in messages[1:]] == [AIMessage, HumanMessage]
    assert messages[-1].content == "It also works for migraine."


def test_prompt_without_passages_or_flags_has_no_such_sections() -> None:
    messages = persona_messages(SCENARIO, PersonaContext("Hello", 1))
    text = str(messages[0].content)
    assert "approved material" not in text and "breached" not in text
    assert messages[-1].content == "Hello"


def test_correction_is_added_on_regeneration() -> None:
    messages = persona_messages(SCENARIO, PersonaContext("Hello", 1), correction="Fix the figure.")
    assert str(messages[0].content).endswith("Fix the figure.")


def test_streams_tokens_and_retries_once_when_the_output_rail_fires(velmora: Any) -> None:
    wrong = "In the trials Velmora lowered systolic blood pressure by 20 mmHg more than placebo."
    right = "In the trials Velmora lowered systolic blood pressure by 11 mmHg more than placebo."
    model = GenericFakeChatModel(messages=iter([AIMessage(wrong), AIMessage(right)]))
    policy = load_policy(pack_path("pharma") / "policy.yaml")
    session = Session(plan_policy(policy), learner="t", knowledge=velmora)
    conversation = Conversation(session, LangChainPersona(SCENARIO, model))
    list(conversation.open())
    events = list(conversation.say("u1", "What did the trials show for blood pressure?"))

    finals = [e for e in events if isinstance(e, PersonaFinal)]
    assert [f.text for f in finals] == [wrong, right]
    flags = [e.finding for e in events if isinstance(e, FlagRaised)]
    assert [(f.rule_id, f.utterance_id) for f in flags] == [
        ("persona-grounding", finals[0].utterance_id)
    ]
    assert flags[0].passage is not None and "11 mmHg" in flags[0].passage.quote
    first_deltas = [
        e.delta
        for e in events
        if isinstance(e, PersonaDelta) and e.utterance_id == finals[0].utterance_id
    ]
    assert len(first_deltas) > 5 and "".join(first_deltas) == wrong
