"""The session index and filter shared by the API and the CLI: built from real recorded
sessions, extended incrementally, unaffected by erasure of sealed text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from audit import (
    AuditLog,
    SessionFilter,
    SessionIndex,
    SigningKey,
    SQLiteRecordStore,
    erase_learner_content,
)
from engine import SteppingClock
from policies.models import Speaker
from tests.audit.sessions import BREACH, GOOD, record_session

MARCH_1 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_index_reads_metadata_and_extends_with_new_records(tmp_path: Path) -> None:
    key = SigningKey.generate()
    index = SessionIndex()
    with SQLiteRecordStore(tmp_path / "audit.sqlite3") as store:
        record_session(
            store, key, [(Speaker.learner, GOOD)], session_id="s1", log_clock=SteppingClock(MARCH_1)
        )
        head, (first,) = index.refresh(store)
        assert head == store.head() == first.records
        assert first.learner == "L-7f3a" and first.scenario is None
        assert (first.policy_id, first.policy_version, len(first.policy_digest)) == (
            "report-rules",
            2,
            64,
        )
        assert first.started_at == "2026-03-01T09:00:00.000000Z"
        assert first.ended_at is not None and first.end_reason == "completed"

        later = SteppingClock(MARCH_1 + timedelta(days=1))
        record_session(
            store,
            key,
            [(Speaker.learner, GOOD)],
            session_id="s2",
            learner="L-b",
            end=None,
            log_clock=later,
        )
        first.records = 0  # a caller's copy: the index keeps its own
        head, sessions = index.refresh(store)
        assert head == store.head() == sum(s.records for s in sessions)
        assert [s.session_id for s in sessions] == ["s1", "s2"]
        assert sessions[1].ended_at is None and sessions[1].end_reason is None


def test_erased_text_leaves_the_learner_id_in_the_index(tmp_path: Path) -> None:
    key = SigningKey.generate()
    with SQLiteRecordStore(tmp_path / "audit.sqlite3") as store:
        record_session(store, key, [(Speaker.learner, BREACH)], session_id="s1")
        erase_learner_content(store, key, "L-7f3a")
        _, found = SessionIndex().matching(store, SessionFilter(learner="L-7f3a"))
    assert [s.session_id for s in found] == ["s1"]


def test_matching_orders_by_start_and_bounds_are_half_open(tmp_path: Path) -> None:
    key = SigningKey.generate()
    with SQLiteRecordStore(tmp_path / "audit.sqlite3") as store:
        for n, name in enumerate(("a", "b", "c")):
            clock = SteppingClock(MARCH_1 + timedelta(hours=n))
            record_session(store, key, [], session_id=name, log_clock=clock)
        index = SessionIndex()

        def ids(chosen: SessionFilter) -> list[str]:
            return [s.session_id for s in index.matching(store, chosen)[1]]

        one = MARCH_1 + timedelta(hours=1)
        assert ids(SessionFilter()) == ["a", "b", "c"]
        assert ids(SessionFilter(since=one)) == ["b", "c"]
        assert ids(SessionFilter(until=one)) == ["a"]
        assert ids(SessionFilter(session_ids=frozenset({"c", "a"}), until=one)) == ["a"]


def test_filter_times_are_utc_and_the_manifest_records_only_what_was_given() -> None:
    plus_two = timezone(timedelta(hours=2))
    chosen = SessionFilter(
        policy_version=2,
        since=datetime(2026, 3, 1, 12, 0),  # naive: UTC
        until=datetime(2026, 3, 2, 2, 0, tzinfo=plus_two),
        session_ids=frozenset({"s9", "s1"}),
    )
    assert chosen.since == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert chosen.as_manifest_filters() == {
        "policy_version": 2,
        "since": "2026-03-01T12:00:00.000000Z",
        "until": "2026-03-02T00:00:00.000000Z",
        "session_id": "s1,s9",
    }
    assert SessionFilter().is_empty() and SessionFilter().as_manifest_filters() == {}
    assert not SessionFilter(session_ids=frozenset()).is_empty()
    far = SessionFilter(since=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))))
    assert far.since == datetime.min.replace(tzinfo=UTC)


def test_index_keeps_flags_with_their_rule_and_withdrawals_and_the_score(tmp_path: Path) -> None:
    """A flag raised on a partial transcript that the final text does not bear out is
    withdrawn; flags the final text raises stay; the scorecard's score is kept."""
    from engine import FinalUtterance, PartialUtterance, Session
    from engine.recording import AuditRecorder
    from evaluators import compile_policy
    from policies import parse_policy
    from tests.audit.sessions import POLICY

    key = SigningKey.generate()
    index = SessionIndex()
    with SQLiteRecordStore(tmp_path / "audit.sqlite3") as store:
        session = Session(
            compile_policy(parse_policy(POLICY)),
            learner="L-1",
            session_id="s1",
            recorder=AuditRecorder(AuditLog(store, key)),
        )
        session.start()
        session.ingest(PartialUtterance(utterance_id="u1", revision=1, text="It is risk-free and"))
        session.ingest(FinalUtterance(utterance_id="u1", text="It is not without risk."))
        session.ingest(FinalUtterance(utterance_id="u2", text="Guaranteed returns, honestly."))
        session.end()
        sessions, flags = index.flags(store)
    (only,) = sessions
    assert only.score is not None and 0 <= only.score <= 1 and only.passed is False
    by_rule: dict[str, list[bool]] = {}
    for flag in flags:
        assert flag.session_id == "s1" and flag.raised_at.endswith("Z") and flag.seq >= 1
        by_rule.setdefault(flag.rule_id, []).append(flag.retracted)
    assert sorted(by_rule["no-guarantees"]) == [False, True]  # u1's partial flag withdrawn
    assert by_rule["no-absolutes"] == [False]
    kept = [f for f in flags if not f.retracted and f.rule_id == "no-guarantees"]
    assert kept[0].severity == "critical" and kept[0].quote is not None


def test_one_session_is_looked_up_after_the_records_appended_since(tmp_path: Path) -> None:
    key = SigningKey.generate()
    index = SessionIndex()
    with SQLiteRecordStore(tmp_path / "audit.sqlite3") as store:
        record_session(store, key, [(Speaker.learner, GOOD)], session_id="s1", end=None)
        running = index.session(store, "s1")
        assert running is not None and running.ended_at is None
        running.records = 0  # a copy: the index keeps its own
        record_session(store, key, [(Speaker.learner, BREACH)], session_id="s2")
        ended = index.session(store, "s2")
        assert ended is not None and ended.end_reason == "completed"
        again = index.session(store, "s1")
        assert again is not None and again.records > 0
        assert index.session(store, "s3") is None
