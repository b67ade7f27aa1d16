"""The optional LLM judge: verbatim evidence or no judgment, and clean abstention."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from engine import ScoreComputed, Session
from engine.inputs import FinalUtterance
from evaluators import compile_policy
from evaluators.judge import JudgedLine, LLMJudge, parse_judgment
from evaluators.rubric import Abstention, Judgment
from policies import Speaker, parse_policy
from policies.models import JudgeQuestion

POLICY = """\
policy: judge-test
version: 1
guardrails:
  - id: no-guarantee
    match: {phrases: [guarantee*]}
rubric:
  pass_mark: 0.7
  criteria:
    - {id: compliance, weight: 1, from_guardrails: [no-guarantee]}
    - id: empathy
      weight: 1
      from_judge:
        question: Did the learner acknowledge the customer's frustration?
"""

LINES = [
    JudgedLine(0, "persona", "I've waited three weeks for this!"),
    JudgedLine(1, "learner", "I'm sorry, waiting three weeks must be really frustrating."),
    JudgedLine(2, "learner", "I'll chase it today and call you back by five."),
]
QUESTION = JudgeQuestion(question="Did the learner acknowledge the frustration?")


def _reply(score: float, *quotes: tuple[int, str]) -> str:
    return json.dumps(
        {
            "score": score,
            "reason": "acknowledged it",
            "quotes": [{"turn": turn, "quote": quote} for turn, quote in quotes],
        }
    )


def _model(*replies: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter([AIMessage(reply) for reply in replies]))


def test_verbatim_quotes_make_a_judgment_with_their_turns() -> None:
    reply = _reply(0.9, (1, "waiting three weeks must be really frustrating"))
    judgment = LLMJudge(_model(reply)).judge(QUESTION, LINES)
    assert judgment == Judgment(
        score=0.9,
        reason="acknowledged it",
        quotes=((1, "waiting three weeks must be really frustrating"),),
    )


def test_a_quote_found_under_another_turn_is_credited_to_where_it_is() -> None:
    judgment = parse_judgment(_reply(1, (7, "call you back by five")), LINES)
    assert isinstance(judgment, Judgment) and judgment.quotes == ((2, "call you back by five"),)


def test_an_invented_quote_voids_the_whole_judgment() -> None:
    reply = _reply(1, (1, "really frustrating"), (2, "I completely understand your anger"))
    result = LLMJudge(_model(reply)).judge(QUESTION, LINES)
    assert isinstance(result, Abstention)
    assert "I completely understand your anger" in result.reason and "void" in result.reason


def test_answers_without_evidence_or_score_abstain() -> None:
    assert isinstance(parse_judgment("The learner did well.", LINES), Abstention)
    assert isinstance(parse_judgment(json.dumps({"score": 0.8, "quotes": []}), LINES), Abstention)
    assert isinstance(parse_judgment(_reply(1.5, (1, "sorry")), LINES), Abstention)
    fenced = "```json\n" + _reply(0.5, (1, "I'm sorry")) + "\n```"
    assert isinstance(parse_judgment(fenced, LINES), Judgment)


def _substrings() -> st.SearchStrategy[str]:
    return st.sampled_from([line.text for line in LINES]).flatmap(
        lambda text: st.tuples(
            st.integers(0, len(text)), st.integers(0, len(text))
        ).map(lambda ends: text[min(ends) : max(ends)])
    )


@given(
    st.lists(
        st.tuples(st.integers(-1, 3), st.one_of(_substrings(), st.text(max_size=30))),
        max_size=4,
    ),
    st.floats(allow_nan=False, min_value=-1, max_value=2),
)
def test_a_judgment_stands_only_on_quotes_that_are_in_the_transcript(
    quotes: list[tuple[int, str]], score: float
) -> None:
    result = parse_judgment(_reply(score, *quotes), LINES)
    every_quote_real = bool(quotes) and all(
        quote.strip()
        and any(" ".join(quote.replace("\u2019", "'").split()) in line.text for line in LINES)
        for _, quote in quotes
    )
    if every_quote_real and 0 <= score <= 1:
        assert isinstance(result, Judgment)
        assert [quote for _, quote in result.quotes] == [quote.strip() for _, quote in quotes]
    else:
        assert isinstance(result, Abstention)


def test_without_a_model_the_criterion_is_not_evaluated_and_left_out() -> None:
    session = Session(compile_policy(parse_policy(POLICY)), learner="t")
    session.start()
    session.ingest(FinalUtterance(utterance_id="u1", text="Sorry about the wait."))
    events = session.end()
    card = next(e for e in events if isinstance(e, ScoreComputed)).scorecard
    empathy = next(c for c in card.criteria if c.id == "empathy")
    assert not empathy.evaluated and "no LLM judge is configured" in empathy.evidence[0].note
    assert card.score == 1.0


def test_session_judge_scores_the_criterion_with_quoted_evidence_at_the_end() -> None:
    model = _model(_reply(0.5, (1, "Sorry about the wait")))
    session = Session(compile_policy(parse_policy(POLICY)), learner="t", judge=LLMJudge(model))
    session.start()
    session.ingest(FinalUtterance(utterance_id="p1", text="Three weeks!", speaker=Speaker.persona))
    session.ingest(FinalUtterance(utterance_id="u1", text="Sorry about the wait."))
    session.end()
    assert session.scorecard is not None
    empathy = next(c for c in session.scorecard.criteria if c.id == "empathy")
    assert empathy.evaluated and empathy.score == 0.5
    (evidence,) = empathy.evidence
    assert (evidence.outcome, evidence.turn, evidence.quote) == (
        "judged",
        1,
        "Sorry about the wait",
    )
    assert session.scorecard.score == 0.75
