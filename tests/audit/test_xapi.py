"""xAPI / cmi5 statements built from a real recorded session, checked by ralph's strict models.

The sessions here are real: an `engine.Session` on a small lexical policy records through
`AuditRecorder` into an `AuditLog` on SQLite; the statements are built from the decoded
records, exactly what an export would have. ralph-malph's pydantic models (written by
others, ``extra="forbid"``, IRI and UUID checks, no empty values) are the external judge
of the xAPI shape; the cmi5 rules (verb order, scaled score against the mastery score,
registration, durations) are asserted here directly, since ralph has no cmi5 models.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ralph.models.xapi.base.agents import (  # type: ignore[import-untyped]
    BaseXapiAgentWithAccount,
)
from ralph.models.xapi.base.statements import BaseXapiStatement  # type: ignore[import-untyped]
from ralph.models.xapi.concepts.verbs.scorm_profile import (  # type: ignore[import-untyped]
    CompletedVerb,
    InitializedVerb,
    TerminatedVerb,
)

from audit import AuditLog, SigningKey, SQLiteRecordStore, decode_record, session_statements
from audit.xapi import (
    BLOCKERS_BREACHED_EXTENSION,
    CMI5_CATEGORY,
    MASTERY_SCORE_EXTENSION,
    MOVEON_CATEGORY,
    RECORD_DIGEST_EXTENSION,
    SESSION_ID_EXTENSION,
    VERB_COMPLETED,
    VERB_FAILED,
    VERB_INITIALIZED,
    VERB_PASSED,
    VERB_TERMINATED,
    WITHHELD_SCORE_EXTENSION,
    iso_duration,
)
from engine import FinalUtterance, Session, SteppingClock
from engine.events import EndReason
from engine.recording import AuditRecorder
from evaluators import compile_policy
from policies import parse_policy

POLICY = """\
policy: xapi-rules
version: 1
guardrails:
  - id: no-guarantees
    severity: critical
    match: {{phrases: [guaranteed returns, risk-free]}}
    on_violation: [coach]
    coach: Say that capital is at risk; never promise returns.
  - id: no-insults
    severity: critical
    match: {{phrases: [you idiot]}}
    on_violation: [end_session]
objectives:
  - id: ask-goals
    match: {{phrases: [what are you hoping]}}
rubric:
  pass_mark: {pass_mark}
  criteria:
    - {{id: goals, weight: 0.2, from_objective: ask-goals}}
    - {{id: claims, weight: 0.5, from_guardrails: [no-guarantees]}}
    - {{id: manners, weight: 0.3, from_guardrails: [no-insults]}}
  blockers: [no-guarantees]
"""
HOME_PAGE = "https://lms.example.com"
LEARNER = "L-7f3a"
ACTIVITY = "https://lms.example.com/cmi5/au/velmora-detailing"
START = datetime(2026, 3, 4, 9, 0, 0, tzinfo=UTC)
STEP = timedelta(seconds=1, milliseconds=250)  # every clock reading is 1.25 s after the last

GOOD = "Hello, what are you hoping to get from this meeting?"
BREACH = "This fund has guaranteed returns, it is risk-free."
INSULT = "Listen, you idiot."


@dataclass(frozen=True)
class Recorded:
    """One session as the audit log holds it: its events and their records' digests."""

    events: list[dict[str, Any]]
    digests: list[str]

    def event(self, event_type: str) -> dict[str, Any]:
        (found,) = [event for event in self.events if event["type"] == event_type]
        return found

    def digest(self, event_type: str) -> str:
        (index,) = [i for i, event in enumerate(self.events) if event["type"] == event_type]
        return self.digests[index]

    def statements(self, activity_id: str = ACTIVITY) -> list[dict[str, Any]]:
        return session_statements(
            self.events,
            actor_account=(HOME_PAGE, LEARNER),
            activity_id=activity_id,
            record_digests=self.digests,
        )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteRecordStore]:
    with SQLiteRecordStore(tmp_path / "audit.sqlite3") as opened:
        yield opened


def record_session(
    store: SQLiteRecordStore,
    utterances: Sequence[str],
    *,
    end: EndReason | None = "completed",
    session_id: str = "s-xapi-1",
    pass_mark: float = 0.7,
) -> Recorded:
    """Run a real session into the log, then read its records back and check them."""
    key = SigningKey.generate()
    session = Session(
        compile_policy(parse_policy(POLICY.format(pass_mark=pass_mark))),
        learner=LEARNER,
        session_id=session_id,
        recorder=AuditRecorder(AuditLog(store, key)),
        clock=SteppingClock(START, STEP),
    )
    session.start()
    for n, text in enumerate(utterances):
        if session.state.value != "active":
            break
        session.ingest(FinalUtterance(utterance_id=f"u{n}", text=text))
    if end is not None and session.state.value == "active":
        session.end(end)
    trusted = {key.public_key.keyid: key.public_key}
    rows = sorted(
        (row for row in store.records() if row.session_id == session_id),
        key=lambda row: row.session_seq,
    )
    return Recorded(
        events=[decode_record(row.line, trusted).event for row in rows],
        digests=[row.digest for row in rows],
    )


def strictly_valid(statement: dict[str, Any]) -> Any:
    """Validate with ralph; the actor must be an account Agent and known verbs must match
    ralph's models of them (a wrong id or display fails these Literal-typed models)."""
    model = BaseXapiStatement.model_validate(statement)
    BaseXapiAgentWithAccount.model_validate(statement["actor"])
    verb_models = {
        VERB_INITIALIZED: InitializedVerb,
        VERB_COMPLETED: CompletedVerb,
        VERB_TERMINATED: TerminatedVerb,
    }
    verb_model = verb_models.get(statement["verb"]["id"])
    if verb_model is not None:
        verb_model.model_validate(statement["verb"])
    return model


def verbs(statements: Sequence[dict[str, Any]]) -> list[str]:
    return [statement["verb"]["id"] for statement in statements]


def at(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["at"])


def test_passing_session_gives_the_cmi5_sequence_with_score_duration_and_evidence(
    store: SQLiteRecordStore,
) -> None:
    recorded = record_session(store, [GOOD])
    statements = recorded.statements()
    models = [strictly_valid(statement) for statement in statements]

    assert verbs(statements) == [VERB_INITIALIZED, VERB_PASSED, VERB_COMPLETED, VERB_TERMINATED]
    scorecard = recorded.event("score.computed")["scorecard"]
    assert scorecard["passed"] is True
    passed = models[1]
    assert float(passed.result.score.scaled) == scorecard["score"] == 1.0
    assert passed.result.success is True
    mastery = statements[1]["context"]["extensions"][MASTERY_SCORE_EXTENSION]
    assert mastery == scorecard["pass_mark"] == 0.7
    assert passed.result.score.scaled >= mastery

    start, end = at(recorded.event("session.started")), at(recorded.event("session.ended"))
    assert end - start > timedelta(0)
    assert models[3].result.duration == end - start  # terminated
    assert models[2].result.duration == end - start  # completed
    assert models[2].result.completion is True
    assert models[1].result.duration == at(recorded.event("score.computed")) - start
    assert [model.timestamp for model in models] == [
        start,
        at(recorded.event("score.computed")),
        end,
        end,
    ]

    digests = [
        statement["context"]["extensions"][RECORD_DIGEST_EXTENSION] for statement in statements
    ]
    assert digests == [
        recorded.digest("session.started"),
        recorded.digest("score.computed"),
        recorded.digest("session.ended"),
        recorded.digest("session.ended"),
    ]


def test_every_statement_shares_registration_actor_activity_and_cmi5_category(
    store: SQLiteRecordStore,
) -> None:
    statements = record_session(store, [GOOD]).statements()
    registrations = {statement["context"]["registration"] for statement in statements}
    assert len(registrations) == 1
    (registration,) = registrations
    assert str(uuid.UUID(registration)) == registration
    assert uuid.UUID(registration).version == 5  # "s-xapi-1" is no UUID: derived from it
    for statement in statements:
        model = strictly_valid(statement)
        assert model.actor.account.name == LEARNER
        assert str(model.actor.account.homePage) == HOME_PAGE
        assert "name" not in statement["actor"] and "mbox" not in statement["actor"]
        assert statement["object"] == {"objectType": "Activity", "id": ACTIVITY}
        categories = [
            activity["id"] for activity in statement["context"]["contextActivities"]["category"]
        ]
        assert CMI5_CATEGORY in categories
        assert (MOVEON_CATEGORY in categories) == (
            statement["verb"]["id"] in {VERB_PASSED, VERB_FAILED, VERB_COMPLETED}
        )
        assert statement["context"]["extensions"][SESSION_ID_EXTENSION] == "s-xapi-1"
        assert statement["version"] == "1.0.3"


def test_ids_are_unique_and_stable_across_two_recordings_of_the_same_session(
    tmp_path: Path,
) -> None:
    with (
        SQLiteRecordStore(tmp_path / "one.sqlite3") as one,
        SQLiteRecordStore(tmp_path / "two.sqlite3") as two,
    ):
        first = record_session(one, [GOOD]).statements()
        second = record_session(two, [GOOD]).statements()
    ids = [statement["id"] for statement in first]
    assert len(set(ids)) == len(ids)
    assert all(uuid.UUID(value).version == 5 for value in ids)
    assert ids == [statement["id"] for statement in second]
    # Another key signed the second log, so the evidence digests differ; the ids do not.
    assert (
        first[0]["context"]["extensions"][RECORD_DIGEST_EXTENSION]
        != second[0]["context"]["extensions"][RECORD_DIGEST_EXTENSION]
    )
    other_activity = record_session_ids(tmp_path, ACTIVITY + "-v2")
    assert not set(ids) & set(other_activity)


def record_session_ids(tmp_path: Path, activity_id: str) -> list[str]:
    with SQLiteRecordStore(tmp_path / "three.sqlite3") as store:
        return [s["id"] for s in record_session(store, [GOOD]).statements(activity_id)]


def test_uuid_session_id_is_the_registration(store: SQLiteRecordStore) -> None:
    session_id = "0b6f3c2e-5d4a-4e8f-9a1b-2c3d4e5f6a7b"
    statements = record_session(store, [GOOD], session_id=session_id).statements()
    assert {s["context"]["registration"] for s in statements} == {session_id}


def test_breach_gives_failed_with_a_scaled_score_below_the_mastery_score(
    store: SQLiteRecordStore,
) -> None:
    recorded = record_session(store, [BREACH])
    statements = recorded.statements()
    models = [strictly_valid(statement) for statement in statements]
    assert verbs(statements) == [VERB_INITIALIZED, VERB_FAILED, VERB_COMPLETED, VERB_TERMINATED]
    scorecard = recorded.event("score.computed")["scorecard"]
    failed = models[1]
    assert failed.result.success is False
    assert float(failed.result.score.scaled) == scorecard["score"]
    assert scorecard["score"] < scorecard["pass_mark"]
    assert statements[1]["result"]["extensions"][BLOCKERS_BREACHED_EXTENSION] == len(
        scorecard["blockers_breached"]
    )
    assert scorecard["blockers_breached"]


def test_blocker_breach_above_the_pass_mark_fails_without_a_contradicting_score(
    store: SQLiteRecordStore,
) -> None:
    """Score 0.5 reaches pass mark 0.5 but a blocker was breached: failed, and cmi5 forbids a
    failed scaled score at or above the mastery score, so the score moves to an extension."""
    recorded = record_session(store, [GOOD, BREACH], pass_mark=0.5)
    scorecard = recorded.event("score.computed")["scorecard"]
    assert scorecard["score"] >= scorecard["pass_mark"] and not scorecard["passed"]
    statements = recorded.statements()
    for statement in statements:
        strictly_valid(statement)
    failed = statements[1]
    assert failed["verb"]["id"] == VERB_FAILED
    assert failed["result"]["success"] is False
    assert "score" not in failed["result"]
    assert failed["result"]["extensions"][WITHHELD_SCORE_EXTENSION] == scorecard["score"]


def test_session_ended_by_policy_is_scored_but_not_completed(store: SQLiteRecordStore) -> None:
    recorded = record_session(store, [INSULT], end=None)
    assert recorded.event("session.ended")["reason"] == "ended_by_policy"
    statements = recorded.statements()
    for statement in statements:
        strictly_valid(statement)
    assert verbs(statements) == [VERB_INITIALIZED, VERB_FAILED, VERB_TERMINATED]


def test_abandoned_session_gives_initialized_and_terminated_only(
    store: SQLiteRecordStore,
) -> None:
    recorded = record_session(store, [GOOD], end="abandoned")
    assert recorded.event("score.computed")  # scored, but not reported as an outcome
    statements = recorded.statements()
    models = [strictly_valid(statement) for statement in statements]
    assert verbs(statements) == [VERB_INITIALIZED, VERB_TERMINATED]
    assert models[1].result.duration == at(recorded.event("session.ended")) - at(
        recorded.event("session.started")
    )
    assert statements[1]["context"]["extensions"][RECORD_DIGEST_EXTENSION] == recorded.digest(
        "session.ended"
    )


def test_refuses_what_is_not_one_ended_session_with_its_evidence(
    store: SQLiteRecordStore,
) -> None:
    recorded = record_session(store, [GOOD])
    with pytest.raises(ValueError, match="record digests"):
        session_statements(
            recorded.events,
            actor_account=(HOME_PAGE, LEARNER),
            activity_id=ACTIVITY,
            record_digests=recorded.digests[:-1],
        )
    with pytest.raises(ValueError, match="e-mail"):
        session_statements(
            recorded.events,
            actor_account=(HOME_PAGE, "jane.doe@example.com"),
            activity_id=ACTIVITY,
            record_digests=recorded.digests,
        )
    with pytest.raises(ValueError, match=r"no session\.ended"):
        session_statements(
            recorded.events[:-1],
            actor_account=(HOME_PAGE, LEARNER),
            activity_id=ACTIVITY,
            record_digests=recorded.digests[:-1],
        )
    lying = [dict(event) for event in recorded.events]
    score_index = next(i for i, e in enumerate(lying) if e["type"] == "score.computed")
    lying[score_index]["scorecard"] = {**lying[score_index]["scorecard"], "score": 0.1}
    with pytest.raises(ValueError, match="below its pass mark"):
        session_statements(
            lying,
            actor_account=(HOME_PAGE, LEARNER),
            activity_id=ACTIVITY,
            record_digests=recorded.digests,
        )


@pytest.mark.parametrize(
    ("elapsed", "text"),
    [
        (timedelta(0), "PT0S"),
        (timedelta(milliseconds=4), "PT0.004S"),
        (timedelta(hours=1, minutes=2, seconds=3, microseconds=500000), "PT1H2M3.5S"),
        (timedelta(days=2, minutes=1), "PT48H1M"),
    ],
)
def test_iso_duration(elapsed: timedelta, text: str) -> None:
    assert iso_duration(elapsed) == text


def synthetic_session(score: float, pass_mark: float, blockers: int) -> list[dict[str, Any]]:
    """A session's three key events with the scorecard fields the statements read."""
    base = {"session_id": "s-h"}
    return [
        {**base, "type": "session.started", "at": "2026-03-04T09:00:00Z", "learner": LEARNER},
        {
            **base,
            "type": "score.computed",
            "at": "2026-03-04T09:05:00.5Z",
            "scorecard": {
                "score": score,
                "pass_mark": pass_mark,
                "passed": score >= pass_mark and not blockers,
                "blockers_breached": [{"rule_id": "no-guarantees"}] * blockers,
                "criteria": [],
            },
        },
        {**base, "type": "session.ended", "at": "2026-03-04T09:05:01Z", "reason": "completed"},
    ]


unit = st.floats(min_value=0, max_value=1, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(score=unit, pass_mark=unit, blockers=st.integers(min_value=0, max_value=2))
def test_scaled_score_stays_in_unit_range_and_success_follows_the_mastery_score(
    score: float, pass_mark: float, blockers: int
) -> None:
    events = synthetic_session(score, pass_mark, blockers)
    statements = session_statements(
        events,
        actor_account=(HOME_PAGE, LEARNER),
        activity_id=ACTIVITY,
        record_digests=["ab" * 32, "cd" * 32, "ef" * 32],
    )
    verdict = statements[1]
    strictly_valid(verdict)
    result = verdict["result"]
    mastery = verdict["context"]["extensions"][MASTERY_SCORE_EXTENSION]
    assert mastery == pass_mark
    expected_success = score >= pass_mark and not blockers
    assert result["success"] is expected_success
    assert verdict["verb"]["id"] == (VERB_PASSED if expected_success else VERB_FAILED)
    if not blockers:
        assert result["success"] == (score >= pass_mark)
        assert result["score"]["scaled"] == score
    if "score" in result:
        scaled = result["score"]["scaled"]
        assert 0 <= scaled <= 1
        # cmi5: passed at or above the mastery score, failed below it.
        assert (scaled >= mastery) == result["success"]
    else:
        assert blockers and score >= pass_mark
        assert result["extensions"][WITHHELD_SCORE_EXTENSION] == score
