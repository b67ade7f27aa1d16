"""Multi-turn conversations with the offline persona on each sample scenario."""

from __future__ import annotations

from typing import Any

import pytest

from engine import (
    FlagRaised,
    PersonaDelta,
    PersonaFinal,
    RetrievalUsed,
    Session,
    SessionEnded,
    SessionEvent,
)
from engine.persona import ScriptedPersona
from engine.planning import plan_policy
from engine.practice import Conversation
from engine.scenarios import Scenario, load_scenario
from policies import load_policy, pack_path


def start(pack: str, file: str, embedder: Any, knowledge: Any) -> tuple[Conversation, Scenario]:
    scenario = load_scenario(pack_path(pack) / file)
    policy = load_policy(pack_path(pack) / scenario.policy)
    session = Session(plan_policy(policy), learner="t", knowledge=knowledge)
    conversation = Conversation(session, ScriptedPersona(scenario, embedder, knowledge))
    opening = list(conversation.open())
    assert isinstance(opening[-1], PersonaFinal)
    assert opening[-1].text == scenario.persona.opening
    return conversation, scenario


class Turn:
    def __init__(self, events: list[SessionEvent]) -> None:
        self.events = events
        finals = [e for e in events if isinstance(e, PersonaFinal)]
        self.reply = finals[-1].text if finals else ""
        self.flags = [
            e.finding.rule_id
            for e in events
            if isinstance(e, FlagRaised)
            and not (e.finding.utterance_id or "").startswith("persona")
        ]
        self.persona_flags = [
            e.finding.rule_id
            for e in events
            if isinstance(e, FlagRaised) and (e.finding.utterance_id or "").startswith("persona")
        ]


def say(conversation: Conversation, number: int, text: str) -> Turn:
    return Turn(list(conversation.say(f"l{number}", text)))


def test_gp_visit_holds_a_grounded_conversation(embedder: Any, velmora: Any) -> None:
    conversation, scenario = start("pharma", "gp_visit.yaml", embedder, velmora)
    turns = []

    turns.append(say(conversation, 1, "Good morning doctor, thanks for seeing me."))
    assert turns[-1].reply in scenario.intents[0].replies

    turns.append(say(conversation, 2, "How are you treating hypertension at the moment?"))
    assert "ACE inhibitor" in turns[-1].reply

    turns.append(
        say(conversation, 3, "Velmora lowered systolic pressure by 20 mmHg in the trials.")
    )
    assert turns[-1].flags == ["label-consistency"]
    assert "11 mmHg" in turns[-1].reply, "the doctor quotes the label's figure"

    turns.append(say(conversation, 4, "A lot of doctors use it for migraine prevention too."))
    assert "no-off-label" in turns[-1].flags
    assert turns[-1].reply.startswith("Is that in the label?")

    turns.append(say(conversation, 5, "In the trials it reduced blood pressure more than placebo."))
    assert "side effects" in turns[-1].reply, (
        "the efficacy claim triggers the tolerability objection"
    )

    turns.append(
        say(
            conversation,
            6,
            "Dizziness was 3.6% versus 1.9% on placebo, and fatigue 4.1% versus 2.5%.",
        )
    )
    assert "more honest than most reps" in turns[-1].reply

    turns.append(say(conversation, 7, "Can I leave some information with you?"))
    assert scenario.persona.closing in turns[-1].reply
    assert isinstance(turns[-1].events[-1], SessionEnded)

    replies = [turn.reply for turn in turns]
    assert all(replies), "the persona always answers"
    assert len(set(replies)) == len(replies), "no reply is repeated"
    assert all(turn.persona_flags == [] for turn in turns), "the scripted doctor stays grounded"


def test_replies_stream_and_record_the_passages_used(embedder: Any, velmora: Any) -> None:
    conversation, _ = start("pharma", "gp_visit.yaml", embedder, velmora)
    events = list(conversation.say("l1", "What is the starting dose?"))
    retrieval = next(e for e in events if isinstance(e, RetrievalUsed))
    deltas = [e for e in events if isinstance(e, PersonaDelta)]
    final = next(e for e in events if isinstance(e, PersonaFinal))
    assert retrieval.knowledge_base == "velmora-label" and len(retrieval.passages) == 3
    assert final.passages == retrieval.passages
    assert "".join(d.delta for d in deltas).strip() == final.text
    assert len(deltas) > 3
    assert "40 mg" in final.text


def test_investment_client_raises_horizon_and_accepts_honesty(
    embedder: Any, harbourline: Any
) -> None:
    conversation, _ = start("investment", "client_two_year_horizon.yaml", embedder, harbourline)
    assert "flat in about two years" in say(conversation, 1, "When will you need the money?").reply
    performance = say(conversation, 2, "How has the fund done? It returned 14.2% in 2021.")
    assert "two years" in performance.reply
    guarantee = say(conversation, 3, "I guarantee you'll be happy with it.")
    assert guarantee.flags[0] == "no-guarantees"
    assert guarantee.reply.startswith("Guaranteed?")
    honest = say(
        conversation,
        4,
        "The fund aims to grow capital over at least five years,"
        " so it may not suit a two-year horizon.",
    )
    assert "rather not risk the deposit" in honest.reply


def test_angry_customer_is_corrected_from_the_procedure(embedder: Any, northgate: Any) -> None:
    conversation, _ = start("service", "complaint_escalation.yaml", embedder, northgate)
    blame = say(conversation, 1, "Calm down please, delays happen.")
    assert blame.flags == ["no-blaming-customer"]
    assert "Don't you dare" in blame.reply
    wrong = say(conversation, 2, "Once the claim is agreed, payment is made within 2 working days.")
    assert "procedure-consistency" in wrong.flags
    assert "10 working days" in wrong.reply
    ownership = say(
        conversation, 3, "I'll take ownership of your case and chase the adjuster today."
    )
    assert ownership.reply


@pytest.mark.parametrize(
    ("pack", "file"),
    [
        ("pharma", "gp_visit.yaml"),
        ("investment", "client_two_year_horizon.yaml"),
        ("service", "complaint_escalation.yaml"),
    ],
)
def test_persona_is_deterministic(pack: str, file: str, embedder: Any) -> None:
    lines = [
        "Hello, thanks for your time.",
        "What matters most to you?",
        "Let me explain.",
        "Go on?",
    ]

    def run() -> list[str]:
        scenario = load_scenario(pack_path(pack) / file)
        persona = ScriptedPersona(scenario, embedder, None)
        from engine.persona.base import PersonaContext

        return [
            "".join(persona.reply(PersonaContext(line, turn))) for turn, line in enumerate(lines, 1)
        ]

    first, second = run(), run()
    assert first == second
    assert len(set(first)) == len(first)


def test_persona_reacts_to_flags_raised_while_the_learner_was_speaking(
    embedder: Any, northgate: Any
) -> None:
    from engine.replay import spoken_partials

    conversation, _ = start("service", "complaint_escalation.yaml", embedder, northgate)
    line = "Calm down please, delays happen."
    raised = []
    for partial in spoken_partials("l1", line):
        raised += conversation.partial("l1", partial.revision, partial.text)
    assert any(isinstance(e, FlagRaised) for e in raised)
    turn = Turn(list(conversation.say("l1", line)))
    assert turn.flags == [], "the flag was raised live, not again at the final"
    assert "Don't you dare" in turn.reply
