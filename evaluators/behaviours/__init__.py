"""Conversation behaviours: fast, explainable detectors for what a learner does in a turn.

Each detector is a pure function of the utterance (and of what the other party said just
before, where that helps), built from word lists and regular expressions, so it runs in well
under a millisecond, needs no model, and can say in plain words why it fired. Policies refer to
them by name (`detector: open_question`); `detect` is the single entry point.

    >>> [hit.detail for hit in detect("open_question", "What brings you in today?")]
    ["open question: starts with 'what'"]
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from evaluators.behaviours.closed_question import detect_closed_questions
from evaluators.behaviours.disrespect import MAY_OFFEND, detect_disrespect
from evaluators.behaviours.hit import BehaviourHit, Detector
from evaluators.behaviours.impact_naming import detect_impact_naming
from evaluators.behaviours.next_steps import detect_next_steps
from evaluators.behaviours.open_question import detect_open_questions
from evaluators.behaviours.overclaiming import detect_overclaiming
from evaluators.behaviours.reflective_listening import detect_reflections
from evaluators.behaviours.summarising import detect_summaries

DETECTORS: Mapping[str, Detector] = MappingProxyType(
    {
        "open_question": detect_open_questions,
        "closed_question": detect_closed_questions,
        "reflective_listening": detect_reflections,
        "impact_naming": detect_impact_naming,
        "summarising": detect_summaries,
        "next_steps": detect_next_steps,
        "disrespect": detect_disrespect,
        "overclaiming": detect_overclaiming,
    }
)


class UnknownDetectorError(KeyError):
    """A detector name that is not one of `DETECTORS`; the message lists the valid names."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(name)

    def __str__(self) -> str:
        known = ", ".join(sorted(DETECTORS))
        return f"unknown behaviour detector {self.name!r}; known detectors: {known}"


def detect(name: str, text: str, previous: str | None = None) -> list[BehaviourHit]:
    """Run the detector called `name` on `text` (after `previous`, the other party's turn)."""
    detector = DETECTORS.get(name)
    if detector is None:
        raise UnknownDetectorError(name)
    if not isinstance(text, str):
        raise TypeError(f"{name}: text must be a string, not {type(text).__name__}")
    if previous is not None and not isinstance(previous, str):
        raise TypeError(f"{name}: previous must be a string or None, not {type(previous).__name__}")
    return detector(text, previous)


def prepare() -> None:
    """Compile now what the detectors would compile on first use (a server calls this before
    it takes traffic, so that no learner's first word waits for it)."""
    MAY_OFFEND.compile()


__all__ = ["DETECTORS", "BehaviourHit", "Detector", "UnknownDetectorError", "detect", "prepare"]
