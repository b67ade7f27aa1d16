"""What `AuditRecorder` seals: every place an event carries the learner's words, including an
LLM judge's reason about them, and nothing a reader cannot put back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from audit import AuditLog, SigningKey, SQLiteRecordStore, decode_record
from audit.content import SEALED_KEY, seal_fields
from audit.content_read import rehydrated, store_texts
from engine import FinalUtterance, Session
from engine.recording import AuditRecorder, judged_notes
from evaluators import compile_policy
from evaluators.judge import LLMJudge
from policies import parse_policy

POLICY = """\
policy: judge-seal
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
SAID = "I'm sorry, waiting three weeks for Mrs Okafor's claim must be frustrating."
REASON = "The learner said sorry that Mrs Okafor waited three weeks."


def test_judge_reasons_are_sealed_with_the_quotes(tmp_path: Path) -> None:
    reply = {"score": 0.9, "reason": REASON, "quotes": [{"turn": 1, "quote": "waiting three"}]}
    model = GenericFakeChatModel(messages=iter([AIMessage(json.dumps(reply))]))
    key = SigningKey.generate()
    with SQLiteRecordStore(tmp_path / "audit.db") as store:
        session = Session(
            compile_policy(parse_policy(POLICY)),
            learner="L-j",
            session_id="s-j",
            recorder=AuditRecorder(AuditLog(store, key)),
            judge=LLMJudge(model),
        )
        session.start()
        session.ingest(FinalUtterance(utterance_id="u1", text=SAID))
        session.end()
        trusted = {key.public_key.keyid: key.public_key}
        events = [decode_record(row.line, trusted).event for row in store.records()]
        for row in store.records():
            assert b"Okafor" not in row.line
        texts = store_texts(store, ["s-j"])
    (score,) = [e for e in events if e["type"] == "score.computed"]
    empathy = next(c for c in score["scorecard"]["criteria"] if c["id"] == "empathy")
    (judged,) = empathy["evidence"]
    assert set(judged["note"]) == set(judged["quote"]) == {SEALED_KEY}
    shown = rehydrated(score, texts)["scorecard"]["criteria"]
    (shown_judged,) = next(c for c in shown if c["id"] == "empathy")["evidence"]
    assert REASON in shown_judged["note"] and shown_judged["quote"] == "waiting three"
    compliance = next(c for c in score["scorecard"]["criteria"] if c["id"] == "compliance")
    assert all(isinstance(item["note"], str) for item in compliance["evidence"])  # rule notes stay


def test_judged_notes_names_only_judged_items_by_index() -> None:
    event: dict[str, Any] = {
        "type": "score.computed",
        "scorecard": {
            "criteria": [
                {"evidence": [{"outcome": "clean", "note": "a"}]},
                {"evidence": [{"outcome": "judged", "note": "b"}, {"outcome": "judged"}]},
            ]
        },
    }
    paths = judged_notes(event)
    assert paths == [
        ("scorecard", "criteria", 1, "evidence", 0, "note"),
        ("scorecard", "criteria", 1, "evidence", 1, "note"),
    ]
    sealed_event, sealed = seal_fields(event, paths)
    assert [item.text for item in sealed] == ["b"]  # the second has no note to seal
    assert sealed_event["scorecard"]["criteria"][0] == event["scorecard"]["criteria"][0]
    assert judged_notes({"type": "score.computed", "scorecard": None}) == []
