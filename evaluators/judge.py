"""An optional LLM judge for rubric criteria that need judgment ("did the rep acknowledge the
doctor's concern?"), through any LangChain chat model.

It runs once, when the session ends, never on the real-time path. A judgment must quote the
transcript verbatim: a quote that is not in the transcript voids the whole answer, because a
score whose evidence was invented is worse than no score. Without a model, or with a void or
unparseable answer, the judge abstains and the criterion is shown as not evaluated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evaluators.rubric import Abstention, Judgment
from policies.models import JudgeQuestion

if TYPE_CHECKING:
    from langchain_core.language_models.chat_models import BaseChatModel

INSTRUCTIONS = """\
You review a role-play training conversation for a compliance team. Answer the question about \
the LEARNER's conduct using only the transcript. Reply with one JSON object and nothing else:
{"score": <number from 0 to 1>, "reason": "<one sentence>", \
"quotes": [{"turn": <learner turn number>, "quote": "<exact words copied from that turn>"}]}
Every quote must be copied character for character from the transcript. Give at least one quote."""


@dataclass(frozen=True)
class JudgedLine:
    """One line of the transcript as the judge sees it; `turn` is the learner turn."""

    turn: int
    speaker: str
    text: str


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")


def _normalised(text: str) -> str:
    return " ".join(text.replace("\u2019", "'").split())


def transcript_text(lines: Sequence[JudgedLine]) -> str:
    return "\n".join(
        f"[turn {line.turn}] {line.speaker}: {line.text}" for line in lines if line.text
    )


class LLMJudge:
    """Judges `from_judge` criteria with a LangChain chat model (None: always abstains)."""

    def __init__(self, model: BaseChatModel | None) -> None:
        self._model = model

    def judge(self, question: JudgeQuestion, lines: Sequence[JudgedLine]) -> Judgment | Abstention:
        if self._model is None:
            return Abstention("no LLM judge is configured")
        try:
            reply = self._model.invoke(_messages(question, lines))
        except Exception as error:  # any provider error: abstain, never guess
            return Abstention(f"the judge model failed: {error}")
        return parse_judgment(str(reply.content), lines)


def _messages(question: JudgeQuestion, lines: Sequence[JudgedLine]) -> list[Any]:
    from langchain_core.messages import HumanMessage, SystemMessage

    guidance = f"\nWhat a good answer looks like: {question.guidance}" if question.guidance else ""
    return [
        SystemMessage(INSTRUCTIONS),
        HumanMessage(
            f"Question: {question.question}{guidance}\n\nTranscript:\n{transcript_text(lines)}"
        ),
    ]


def parse_judgment(reply: str, lines: Sequence[JudgedLine]) -> Judgment | Abstention:
    """Validate the model's JSON answer; any quote not found verbatim voids it."""
    try:
        data = json.loads(_FENCE.sub("", reply.strip()))
    except json.JSONDecodeError:
        return Abstention("the judge's answer was not JSON")
    if not isinstance(data, dict):
        return Abstention("the judge's answer was not a JSON object")
    score = data.get("score")
    quotes = data.get("quotes")
    if not isinstance(score, int | float) or isinstance(score, bool) or not 0 <= score <= 1:
        return Abstention("the judge gave no score between 0 and 1")
    if not isinstance(quotes, list) or not quotes:
        return Abstention("the judge quoted no evidence")
    found: list[tuple[int, str]] = []
    for item in quotes:
        located = _locate(item, lines)
        if isinstance(located, Abstention):
            return located
        found.append(located)
    reason = data.get("reason")
    return Judgment(
        score=round(float(score), 4),
        reason=reason if isinstance(reason, str) else "",
        quotes=tuple(found),
    )


def _locate(item: object, lines: Sequence[JudgedLine]) -> tuple[int, str] | Abstention:
    if not isinstance(item, dict) or not isinstance(item.get("quote"), str):
        return Abstention("a quote in the judge's answer is malformed")
    quote = item["quote"].strip()
    wanted = _normalised(quote)
    if not wanted:
        return Abstention("the judge quoted an empty string")
    turn = item.get("turn")
    named = [line for line in lines if line.turn == turn]
    for line in [*named, *lines]:
        if wanted in _normalised(line.text):
            return line.turn, quote
    return Abstention(f"judgment void: the quote {quote!r} is not in the transcript")
