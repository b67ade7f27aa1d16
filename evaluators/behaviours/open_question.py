"""`open_question`: questions that invite the other person to answer in their own words."""

from __future__ import annotations

from evaluators.behaviours.hit import BehaviourHit
from evaluators.behaviours.questions import QuestionKind, find_questions

NAME = "open_question"


def detect_open_questions(text: str, previous: str | None = None) -> list[BehaviourHit]:
    """One hit per open question sentence; the span is the whole question."""
    return [
        BehaviourHit(NAME, question.start, question.end, f"open question: {question.reason}")
        for question in find_questions(text)
        if question.kind is QuestionKind.OPEN
    ]
