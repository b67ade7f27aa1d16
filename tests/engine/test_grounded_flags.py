"""Rules with a knowledge-base exception flag on partials and are settled by the final."""

from __future__ import annotations

from typing import Any

from engine import EscalationTriggered, FlagRaised, FlagRetracted, Session
from engine.inputs import FinalUtterance, PartialUtterance
from evaluators import PolicyPlan


def _say(session: Session, text: str) -> list[Any]:
    events: list[Any] = []
    words = text.split()
    for count in range(1, len(words) + 1):
        partial = PartialUtterance(
            utterance_id="u1", revision=count - 1, text=" ".join(words[:count])
        )
        events += session.ingest(partial)
    return events + session.ingest(FinalUtterance(utterance_id="u1", text=text))


def test_off_label_flag_is_confirmed_by_the_final_with_the_label_quoted_once_escalated(
    pharma_plan: PolicyPlan, velmora: Any
) -> None:
    session = Session(pharma_plan, learner="t", knowledge=velmora)
    session.start()
    events = _say(session, "A lot of doctors are using it for migraine prevention too.")
    flags = [e for e in events if isinstance(e, FlagRaised) and e.finding.rule_id == "no-off-label"]
    assert [flag.provisional for flag in flags] == [True, False]
    assert flags[0].finding.finding_id == flags[1].finding.finding_id
    confirmed = flags[1].finding
    assert confirmed.passage is not None
    assert "migraine prophylaxis" in confirmed.passage.quote
    assert "not supported by the knowledge base" in confirmed.detail
    escalations = [
        e for e in events if isinstance(e, EscalationTriggered) and e.trigger == "rule:no-off-label"
    ]
    assert len(escalations) == 1
    (finding,) = [f for f in session.findings if f.rule_id == "no-off-label"]
    assert finding.passage is not None


def test_a_use_the_label_supports_is_retracted_at_the_final(
    pharma_plan: PolicyPlan, velmora: Any
) -> None:
    session = Session(pharma_plan, learner="t", knowledge=velmora)
    session.start()
    text = "Safety and effectiveness in migraine prophylaxis have not been established."
    events = _say(session, text)
    raised = [
        e for e in events if isinstance(e, FlagRaised) and e.finding.rule_id == "no-off-label"
    ]
    retracted = [e for e in events if isinstance(e, FlagRetracted)]
    assert [e.provisional for e in raised] == [True]
    assert [e.rule_id for e in retracted] == ["no-off-label"]
    assert not [f for f in session.findings if f.rule_id == "no-off-label"]
