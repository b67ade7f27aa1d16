"""Learner text is sealed outside the signed records, and erasing it keeps the log verifiable.

Sessions are real engine sessions recording through `AuditRecorder` (tests/audit/sessions.py);
the `store` fixture runs each test on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit import (
    AuditLog,
    AuditWriteError,
    SigningKey,
    SQLiteRecordStore,
    StoreError,
    decode_record,
    export_bundle,
    verify_bundle,
)
from audit.content import ERASED_TEXT, SEALED_KEY, reference, references, seal
from audit.content_bundle import ERASED_PATH, content_file
from audit.content_log import ContentChange
from audit.content_read import bundle_texts, rehydrated, store_texts
from audit.content_store import ContentRow
from audit.erasure import ErasureError, erase_learner_content, learner_sessions
from policies.models import Speaker
from tests.audit.conftest import StoreFactory
from tests.audit.helpers import POLICY, AnyStore
from tests.audit.sessions import BREACH, GOOD, LEARNER, record_session

ORIGIN = "proctor.test/audit"
OTHER = "L-other"
SPOKEN = [(Speaker.learner, GOOD), (Speaker.persona, "Go on."), (Speaker.learner, BREACH)]


def events_of(store: AnyStore, key: SigningKey, session_id: str) -> list[dict[str, Any]]:
    trusted = {key.public_key.keyid: key.public_key}
    return [
        decode_record(row.line, trusted).event
        for row in store.records()
        if row.session_id == session_id
    ]


def two_learners(store: AnyStore, key: SigningKey) -> None:
    record_session(store, key, SPOKEN, session_id="s-a1")
    record_session(store, key, SPOKEN, session_id="s-b1", learner=OTHER)
    record_session(store, key, [(Speaker.learner, BREACH)], session_id="s-a2", end=None)


def test_learner_words_are_sealed_and_come_back_for_readers(
    store: AnyStore, key: SigningKey
) -> None:
    record_session(store, key, SPOKEN, session_id="s-a1")
    trusted = {key.public_key.keyid: key.public_key}
    for row in store.records():
        # Words only the learner said (the rules' own phrases may appear in a finding's
        # detail, which quotes the policy, not the learner).
        for words in (GOOD, BREACH, "This fund has", "from this meeting"):
            assert words.encode() not in row.line
            assert words not in json.dumps(decode_record(row.line, trusted).event)
    events = events_of(store, key, "s-a1")
    finals = [e for e in events if e["type"] == "utterance.final"]
    assert [set(e["text"]) for e in finals] == [{SEALED_KEY}, {SEALED_KEY}]
    persona = next(e for e in events if e["type"] == "persona.final")
    assert persona["text"] == "Go on."  # the persona's words are not the learner's
    flags = [e for e in events if e["type"] == "flag.raised"]
    assert flags and all(set(e["finding"]["quote"]) == {SEALED_KEY} for e in flags)

    texts = store_texts(store, ["s-a1"])
    rows = store.content_rows("s-a1")
    assert len(rows) == len(texts) == sum(len(list(references(e))) for e in events)
    assert all(row.sealed.matches() for row in rows)
    shown = [rehydrated(e, texts) for e in finals]
    assert [e["text"] for e in shown] == [GOOD, BREACH]
    assert {rehydrated(f, texts)["finding"]["quote"] for f in flags} <= {
        "guaranteed returns",
        "risk-free",
        "guaranteed",
    }


def test_export_carries_the_text_and_verifies(
    store: AnyStore, key: SigningKey, tmp_path: Path
) -> None:
    record_session(store, key, SPOKEN, session_id="s-a1")
    out = export_bundle(store, key, tmp_path / "out", ORIGIN).path
    report = verify_bundle(out)
    assert report.ok, report.problems
    assert (out / content_file("s-a1")).is_file() and not (out / ERASED_PATH).exists()
    assert bundle_texts(out) == store_texts(store, ["s-a1"])
    page = (out / "report" / "s-a1.html").read_text()
    assert "This fund has" in page  # rehydrated from content/


def test_erasure_removes_the_words_and_keeps_every_record(
    store: AnyStore, key: SigningKey, tmp_path: Path
) -> None:
    two_learners(store, key)
    before = [row.line for row in store.records()]
    sealed_a = {row.commitment for s in ("s-a1", "s-a2") for row in store.content_rows(s)}
    kept_b = store.content_rows("s-b1")

    summary = erase_learner_content(store, key, LEARNER, reason="learner request #12")

    assert summary.sessions == ("s-a1", "s-a2")
    assert summary.commitments == len(sealed_a) and len(summary.records) == 2
    after = [row.line for row in store.records()]
    assert after[: len(before)] == before  # not one signed byte changed
    assert store.content_rows("s-a1") == store.content_rows("s-a2") == []
    assert store.content_rows("s-b1") == kept_b
    erasures = [e for s in ("s-a1", "s-a2") for e in store.erasures(s)]
    assert {e.commitment for e in erasures} == sealed_a
    assert {e.erased_by for e in erasures} == set(summary.records)

    recorded = events_of(store, key, "s-a1")[-1]
    assert recorded["type"] == "content.erased" and recorded["learner"] == LEARNER
    assert recorded["reason"] == "learner request #12"
    assert set(recorded["commitments"]) == {
        target for event in events_of(store, key, "s-a1") for target in references(event)
    }
    shown = [rehydrated(e, store_texts(store, ["s-a1"])) for e in events_of(store, key, "s-a1")]
    assert [e["text"] for e in shown if e["type"] == "utterance.final"] == [ERASED_TEXT] * 2

    whole = export_bundle(store, key, tmp_path / "whole", ORIGIN).path
    report = verify_bundle(whole)
    assert report.ok, report.problems
    declared = [json.loads(line) for line in (whole / ERASED_PATH).read_text().splitlines()]
    assert {d["commitment"] for d in declared} == sealed_a
    assert not (whole / content_file("s-a1")).exists()
    assert bundle_texts(whole) == store_texts(store, ["s-b1"])
    page = (whole / "report" / "s-a1.html").read_text()
    assert ERASED_TEXT in page and "This fund has" not in page

    chosen = export_bundle(
        store, key, tmp_path / "chosen", ORIGIN, sessions=["s-a2"], filters={"learner": LEARNER}
    ).path
    assert verify_bundle(chosen).ok
    before_erasure = export_bundle(
        store, key, tmp_path / "early", ORIGIN, last_seq=len(before)
    ).path  # the erasure records are outside this range; the declaration still covers it
    report = verify_bundle(before_erasure)
    assert report.ok, report.problems


def test_erasing_again_changes_nothing_and_unknown_learners_are_refused(
    store: AnyStore, key: SigningKey
) -> None:
    two_learners(store, key)
    erase_learner_content(store, key, LEARNER)
    head = store.head()
    again = erase_learner_content(store, key, LEARNER)
    assert again.records == () and again.commitments == 0 and store.head() == head
    with pytest.raises(ErasureError, match="no session of learner 'nobody'"):
        erase_learner_content(store, key, "nobody")
    with pytest.raises(ErasureError, match="learner id"):
        erase_learner_content(store, key, "  ")
    assert set(learner_sessions(store, OTHER)) == {"s-b1"}


def test_appends_whose_content_does_not_fit_fail_and_write_nothing(
    store: AnyStore, key: SigningKey
) -> None:
    log = AuditLog(store, key)
    text = seal("my words")
    sealed_event = {"type": "utterance.final", "text": reference(text.commitment)}
    with pytest.raises(AuditWriteError, match="referenced without text"):
        log.append("s", POLICY, [sealed_event])
    with pytest.raises(AuditWriteError, match="text without reference"):
        log.append("s", POLICY, [{"type": "x"}], content=ContentChange(sealed=(text,)))
    erasing = {"type": "content.erased", "commitments": [text.commitment]}
    with pytest.raises(AuditWriteError, match="exactly those"):
        log.append("s", POLICY, [erasing])  # claiming an erasure that does not happen
    with pytest.raises(AuditWriteError, match="does not hold"):
        log.append("s", POLICY, [erasing], content=ContentChange(erases=(text.commitment,)))
    assert store.head() == 0 and store.content_rows("s") == []
    log.append("s", POLICY, [sealed_event], content=ContentChange(sealed=(text,)))
    assert [row.text for row in store.content_rows("s")] == ["my words"]


@contextmanager
def raw_connection(factory: StoreFactory) -> Iterator[Any]:
    """An ordinary client of the same database: what another program could do."""
    if factory.backend == "postgres":
        with psycopg.connect(str(factory.location), autocommit=True) as conn:
            yield conn
    else:
        lite = sqlite3.connect(factory.location, isolation_level=None)
        try:
            yield lite
        finally:
            lite.close()


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM content",
        "UPDATE content SET text = 'rewritten'",
        "DELETE FROM content_erased",
        "UPDATE content_erased SET erased_by = 1",
        "INSERT INTO content_erased (commitment, session_id, erased_by) "
        "VALUES ('sha256:" + "0" * 64 + "', 's-a1', 999)",
    ],
)
def test_the_store_itself_refuses_changes_outside_an_erasure(
    record_store_factory: StoreFactory, key: SigningKey, statement: str
) -> None:
    store = record_store_factory()
    two_learners(store, key)
    erase_learner_content(store, key, OTHER)
    held = store.content_rows("s-a1")
    error = psycopg.Error if record_store_factory.backend == "postgres" else sqlite3.Error
    with raw_connection(record_store_factory) as conn, pytest.raises(error):
        conn.execute(statement)
    assert store.content_rows("s-a1") == held
    if record_store_factory.backend == "postgres":
        with raw_connection(record_store_factory) as conn, pytest.raises(psycopg.Error):
            conn.execute("TRUNCATE content")


def test_the_store_refuses_content_of_a_record_it_does_not_hold(store: AnyStore) -> None:
    sealed = seal("x")
    with pytest.raises(StoreError, match="belong to a record"), store.transaction() as tx:
        tx.put_content([ContentRow(sealed.commitment, "s", 1, sealed.salt, sealed.text)])


def test_stores_written_before_sealed_content_gain_its_tables(
    record_store_factory: StoreFactory, key: SigningKey
) -> None:
    store = record_store_factory()
    AuditLog(store, key).append("old", POLICY, [{"type": "session.started", "learner": "L"}])
    store.close()
    with raw_connection(record_store_factory) as conn:  # as a store of an earlier version
        conn.execute("DROP TABLE content_erased")
        conn.execute("DROP TABLE content")
    reader = record_store_factory(read_only=True)
    assert reader.content_rows("old") == [] and reader.erasures("old") == []
    store = record_store_factory()
    record_session(store, key, SPOKEN, session_id="new", learner="L")
    sealed = len(store.content_rows("new"))
    assert sealed > 0
    assert erase_learner_content(store, key, "L").erased == {"new": sealed}  # "old" has none


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    owners=st.lists(st.sampled_from(["L-1", "L-2", "L-3"]), min_size=1, max_size=4),
    erase_order=st.permutations(["L-1", "L-2", "L-3"]),
    erased_count=st.integers(0, 3),
)
def test_any_erasures_leave_a_verifiable_log_declaring_exactly_what_was_erased(
    owners: list[str], erase_order: list[str], erased_count: int
) -> None:
    key = SigningKey.generate()
    with tempfile.TemporaryDirectory() as folder, SQLiteRecordStore(Path(folder) / "a.db") as store:
        for n, owner in enumerate(owners):
            spoken = SPOKEN[: 1 + n % len(SPOKEN)]
            record_session(store, key, spoken, session_id=f"s{n}", learner=owner, end=None)
        sealed = {
            f"s{n}": {row.commitment for row in store.content_rows(f"s{n}")}
            for n in range(len(owners))
        }
        gone = [learner for learner in erase_order[:erased_count] if learner in owners]
        for learner in gone:
            erase_learner_content(store, key, learner)
        out = export_bundle(store, key, Path(folder) / "bundle", ORIGIN).path
        report = verify_bundle(out)
        assert report.ok, report.problems
        declared: set[str] = set()
        if (out / ERASED_PATH).exists():
            declared = {
                json.loads(line)["commitment"]
                for line in (out / ERASED_PATH).read_text().splitlines()
            }
        expect_gone = {
            c for n, owner in enumerate(owners) if owner in gone for c in sealed[f"s{n}"]
        }
        assert declared == expect_gone
        assert set(bundle_texts(out)) == set().union(*sealed.values()) - expect_gone


def test_an_erasure_during_an_export_wins_over_the_text_read_before_it(
    record_store_factory: StoreFactory,
    key: SigningKey,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store, eraser = record_store_factory(), record_store_factory()  # two handles, one log
    record_session(store, key, SPOKEN, session_id="s-a1")
    read_rows = store.content_rows

    def rows_then_erasure(session_id: str) -> list[ContentRow]:
        rows = read_rows(session_id)  # the export has read the text ...
        erase_learner_content(eraser, key, LEARNER)  # ... when an erasure commits
        return rows

    monkeypatch.setattr(store, "content_rows", rows_then_erasure)
    out = export_bundle(store, key, tmp_path / "out", ORIGIN, last_seq=store.head()).path
    assert bundle_texts(out) == {} and (out / ERASED_PATH).is_file()
    report = verify_bundle(out)
    assert report.ok, report.problems
