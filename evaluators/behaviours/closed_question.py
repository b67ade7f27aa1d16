"""`closed_question`: questions answered with yes/no, a choice offered, or one fact."""

from __future__ import annotations

from evaluators.behaviours.hit import BehaviourHit
from evaluators.behaviours.questions import QuestionKind, find_questions

NAME = "closed_question"


def detect_closed_questions(text: str, previous: str | None = None) -> list[BehaviourHit]:
    """One hit per closed question sentence; the span is the whole question."""
    return [
        BehaviourHit(NAME, question.start, question.end, f"closed question: {question.reason}")
        for question in find_questions(text)
        if question.kind is QuestionKind.CLOSED
    ]
