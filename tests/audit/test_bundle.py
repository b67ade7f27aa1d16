"""Export bundles: layout, manifest, ranges, key rotation, refusals."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from audit import (
    AuditLog,
    BundleError,
    PublicKey,
    SigningKey,
    SQLiteRecordStore,
    export_bundle,
    verify_bundle,
)
from audit.b64 import b64decode_strict
from audit.canonical import canonical_json
from tests.audit.conftest import StoreFactory
from tests.audit.helpers import POLICY, AnyStore, StepClock, event, fill


def test_export_then_verify_ok(log: AuditLog, store: AnyStore, tmp_path: Path) -> None:
    written = fill(log)
    summary = export_bundle(store, log.key, tmp_path / "out", "proctor.test/log", clock=StepClock())
    assert (summary.first_seq, summary.last_seq, summary.count, summary.sessions) == (
        1,
        written,
        written,
        3,
    )
    report = verify_bundle(summary.path)
    assert report.ok, report.problems
    assert (report.records_checked, report.sessions) == (written, 3)
    assert report.keyids == [log.key.public_key.keyid]


def test_layout_and_manifest(log: AuditLog, store: AnyStore, tmp_path: Path) -> None:
    fill(log, sessions=2, batches=2, batch=3)
    out = export_bundle(store, log.key, tmp_path / "out", "proctor.test", clock=StepClock()).path
    keyid = log.key.public_key.keyid
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == [
        "MANIFEST.json",
        f"keys/{keyid}.json",
        f"keys/{keyid}.vkey",  # the same key as a signed-note verifier key
        "log/checkpoints/12.note",  # signed at export: the log had none at its head
        "log/records.jsonl",
    ]

    lines = (out / "log/records.jsonl").read_bytes().split(b"\n")
    assert lines[-1] == b""  # every line is newline-terminated
    assert [line for line in lines[:-1]] == [r.line for r in store.records()]

    key_dict = json.loads((out / f"keys/{keyid}.json").read_text())
    assert PublicKey.from_securesystemslib_dict(key_dict) == log.key.public_key

    manifest = json.loads((out / "MANIFEST.json").read_text())
    assert manifest["bundle_format"] == 1
    assert manifest["origin"] == "proctor.test"
    assert manifest["created_at"] == "2026-11-22T04:50:09.124456Z"
    assert manifest["range"] == {"first_seq": 1, "last_seq": 12, "count": 12}
    assert manifest["sessions"] == {"session-0": 6, "session-1": 6}
    assert manifest["files"] == {
        name: hashlib.sha256((out / name).read_bytes()).hexdigest() for name in files[1:]
    }
    [signature] = manifest.pop("signatures")
    assert signature["keyid"] == keyid
    assert log.key.public_key.verify(b64decode_strict(signature["sig"]), canonical_json(manifest))
    assert (out / "MANIFEST.json").read_text().startswith('{\n  "bundle_format": 1,\n')


def test_refuses_non_empty_or_file_target(log: AuditLog, store: AnyStore, tmp_path: Path) -> None:
    fill(log, batches=1)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("keep me")
    with pytest.raises(BundleError, match="not empty"):
        export_bundle(store, log.key, tmp_path / "busy", "o")
    assert (tmp_path / "busy" / "notes.txt").read_text() == "keep me"
    (tmp_path / "file").write_text("x")
    with pytest.raises(BundleError, match="not a directory"):
        export_bundle(store, log.key, tmp_path / "file", "o")
    (tmp_path / "empty").mkdir()
    assert export_bundle(store, log.key, tmp_path / "empty", "o").count == 6


def test_refuses_empty_range(store: AnyStore, key: SigningKey, tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no records"):
        export_bundle(store, key, tmp_path / "out", "o")
    assert list((tmp_path / "out").iterdir()) == []


def test_partial_range_verifies(log: AuditLog, store: AnyStore, tmp_path: Path) -> None:
    fill(log)  # 24 records; sessions continue across the cut
    summary = export_bundle(store, log.key, tmp_path / "out", "o", first_seq=7, last_seq=18)
    assert (summary.first_seq, summary.last_seq, summary.count) == (7, 18, 12)
    report = verify_bundle(summary.path)
    assert report.ok, report.problems
    assert (report.first_seq, report.last_seq, report.records_checked) == (7, 18, 12)


def test_rotated_keys_need_their_public_keys(tmp_path: Path) -> None:
    old, new = SigningKey.generate(), SigningKey.generate()
    with SQLiteRecordStore(tmp_path / "a.db") as store:
        AuditLog(store, old).append("s", POLICY, [event(1), event(2)])
        AuditLog(store, new).append("s", POLICY, [event(3)])
        with pytest.raises(BundleError, match=f"seq 1 is signed by key {old.public_key.keyid}"):
            export_bundle(store, new, tmp_path / "refused", "o")
        assert list((tmp_path / "refused").iterdir()) == []  # nothing half-written left
        summary = export_bundle(store, new, tmp_path / "out", "o", record_keys=[old.public_key])
    assert set(summary.keyids) == {old.public_key.keyid, new.public_key.keyid}
    report = verify_bundle(summary.path)
    assert report.ok, report.problems
    assert report.keyids == sorted(summary.keyids)


def test_export_from_read_only_store(
    log: AuditLog, record_store_factory: StoreFactory, tmp_path: Path
) -> None:
    fill(log, batches=1)
    with record_store_factory(read_only=True) as reader:
        summary = export_bundle(reader, log.key, tmp_path / "out", "o")
    assert verify_bundle(summary.path).ok


def test_refuses_range_beyond_the_head(log: AuditLog, store: AnyStore, tmp_path: Path) -> None:
    fill(log, batches=1)  # 6 records
    with pytest.raises(BundleError, match="store ended at seq 6, expected 9"):
        export_bundle(store, log.key, tmp_path / "out", "o", last_seq=9)
    assert list((tmp_path / "out").iterdir()) == []
    with pytest.raises(BundleError, match="origin"):
        export_bundle(store, log.key, tmp_path / "out", "")
