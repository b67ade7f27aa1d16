"""Personal data a policy redacts never reaches storage: not the signed record line, not the
sealed content beside it, not any byte of the database files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from audit import AuditLog, SigningKey, SQLiteRecordStore, decode_record
from audit.content_read import rehydrated, store_texts
from engine import FinalUtterance, PartialUtterance, Session, SteppingClock
from engine.recording import AuditRecorder
from evaluators import PolicyPlan

SSN = "536-22-1234"


def test_a_redacted_ssn_is_stored_nowhere(pharma_plan: PolicyPlan, tmp_path: Path) -> None:
    key = SigningKey.generate()
    database = tmp_path / "audit.db"
    with SQLiteRecordStore(database) as store:
        session = Session(
            pharma_plan,
            learner="L-ssn",
            session_id="s-ssn",
            recorder=AuditRecorder(AuditLog(store, key)),
            clock=SteppingClock(datetime(2026, 5, 1, tzinfo=UTC), timedelta(seconds=1)),
        )
        session.start()
        session.ingest(PartialUtterance(utterance_id="u1", revision=0, text=f"Her SSN is {SSN}"))
        session.ingest(FinalUtterance(utterance_id="u1", text=f"Her SSN is {SSN}, by the way."))
        session.end()

        trusted = {key.public_key.keyid: key.public_key}
        texts = store_texts(store, ["s-ssn"])
        events = [
            rehydrated(decode_record(row.line, trusted).event, texts) for row in store.records()
        ]
        (final,) = [e for e in events if e["type"] == "utterance.final"]
        assert final["text"].startswith("Her SSN is ") and final["redacted"]  # masked, kept
        assert SSN not in final["text"]
        for row in store.records():
            assert SSN.encode() not in row.line and b"1234" not in row.line
        assert all(SSN not in text and "1234" not in text for text in texts.values())
        assert texts  # the masked sentence itself was sealed and stored

    for path in database.parent.iterdir():  # the database, its WAL and shared memory
        assert SSN.encode() not in path.read_bytes(), path.name
