from __future__ import annotations

import pytest

from evaluators.behaviours import DETECTORS, BehaviourHit, UnknownDetectorError, detect

NAMES = {
    "open_question",
    "closed_question",
    "reflective_listening",
    "impact_naming",
    "summarising",
    "next_steps",
    "disrespect",
    "overclaiming",
}


def test_detector_names_are_the_policy_vocabulary() -> None:
    assert set(DETECTORS) == NAMES


def test_detector_names_match_the_policy_enum() -> None:
    from policies.models import Behaviour

    assert {behaviour.value for behaviour in Behaviour} == NAMES


def test_hits_name_their_detector() -> None:
    text = "That must have been frustrating. What happened next?"
    for name in NAMES:
        assert all(hit.behaviour == name for hit in detect(name, text))


def test_unknown_detector_names_the_valid_ones() -> None:
    with pytest.raises(UnknownDetectorError) as raised:
        detect("open_questions", "What now?")
    message = str(raised.value)
    assert "'open_questions'" in message
    assert "open_question" in message and "overclaiming" in message


def test_text_must_be_a_string() -> None:
    with pytest.raises(TypeError, match="text must be a string"):
        detect("disrespect", None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="previous must be a string"):
        detect("reflective_listening", "So you feel stuck.", 3)  # type: ignore[arg-type]


def test_hit_span_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="invalid span"):
        BehaviourHit("disrespect", 5, 2, "x")


def test_detectors_are_read_only() -> None:
    with pytest.raises(TypeError):
        DETECTORS["open_question"] = DETECTORS["closed_question"]  # type: ignore[index]
