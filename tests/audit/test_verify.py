"""Offline bundle verification: every mutation is caught, with a precise reason."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import (
    AuditLog,
    SigningKey,
    SQLiteRecordStore,
    VerificationReport,
    export_bundle,
    verify_bundle,
)
from audit.b64 import b64encode
from tests.audit.helpers import POLICY, StepClock, fill

RECORDS = "log/records.jsonl"
RECORD_LEVEL = {
    "record-malformed",
    "record-not-canonical",
    "record-payload-type",
    "record-unknown-key",
    "record-signature",
}
MANIFEST_LEVEL = {"manifest-malformed", "manifest-format", "manifest-signature"}
LINES = 24  # records in the pristine bundle (see conftest)

# No deadline: a verification may take longer than hypothesis's default on a busy machine.
hypothesis_settings = settings(max_examples=60, deadline=None)
Copy = Callable[[], Path]


def codes(report: VerificationReport) -> set[str]:
    return {problem.code for problem in report.problems}


def read_lines(bundle: Path) -> list[bytes]:
    return (bundle / RECORDS).read_bytes().splitlines(keepends=True)


def write_lines(bundle: Path, lines: list[bytes]) -> None:
    (bundle / RECORDS).write_bytes(b"".join(lines))


def test_pristine_bundle_is_ok(pristine_bundle: Path) -> None:
    report = verify_bundle(pristine_bundle)
    assert report.ok, report.problems
    assert (report.records_checked, report.sessions, report.first_seq, report.last_seq) == (
        LINES,
        3,
        1,
        LINES,
    )


# -- mutations of records.jsonl ---------------------------------------------------------


@hypothesis_settings
@given(data=st.data())
def test_any_flipped_byte_in_records_is_caught(bundle_copy: Copy, data: st.DataObject) -> None:
    bundle = bundle_copy()
    raw = bytearray((bundle / RECORDS).read_bytes())
    position = data.draw(st.integers(0, len(raw) - 1), label="position")
    raw[position] ^= data.draw(st.integers(1, 255), label="xor")
    (bundle / RECORDS).write_bytes(bytes(raw))
    report = verify_bundle(bundle)
    assert not report.ok
    assert "file-hash" in codes(report)
    # The record itself is caught too, not only the file hash, so a re-hashed file would
    # not get past the verifier either.
    assert codes(report) & RECORD_LEVEL, report.problems


@hypothesis_settings
@given(index=st.integers(0, LINES - 1))
def test_dropped_line_is_caught(bundle_copy: Copy, index: int) -> None:
    bundle = bundle_copy()
    lines = read_lines(bundle)
    del lines[index]
    write_lines(bundle, lines)
    report = verify_bundle(bundle)
    assert {"file-hash", "range-mismatch", "sessions-mismatch"} <= codes(report)
    if index < LINES - 1:
        gap = next(p for p in report.problems if p.code == "seq-gap")
        assert gap.line == index + 1
        assert gap.message.startswith(f"line {index + 1}: expected seq {index + 1}, found seq")


@hypothesis_settings
@given(index=st.integers(0, LINES - 1), at=st.integers(0, LINES))
def test_duplicated_line_is_caught(bundle_copy: Copy, index: int, at: int) -> None:
    bundle = bundle_copy()
    lines = read_lines(bundle)
    lines.insert(at, lines[index])
    write_lines(bundle, lines)
    report = verify_bundle(bundle)
    assert {"file-hash", "range-mismatch", "seq-gap"} <= codes(report)


@hypothesis_settings
@given(pair=st.lists(st.integers(0, LINES - 1), min_size=2, max_size=2, unique=True))
def test_swapped_lines_are_caught(bundle_copy: Copy, pair: list[int]) -> None:
    bundle = bundle_copy()
    lines = read_lines(bundle)
    i, j = pair
    lines[i], lines[j] = lines[j], lines[i]
    write_lines(bundle, lines)
    report = verify_bundle(bundle)
    assert {"file-hash", "seq-gap"} <= codes(report)
    first = min(i, j) + 1
    assert any(p.line == first and p.code == "seq-gap" for p in report.problems)


@hypothesis_settings
@given(data=st.data())
def test_truncation_is_caught(bundle_copy: Copy, data: st.DataObject) -> None:
    bundle = bundle_copy()
    raw = (bundle / RECORDS).read_bytes()
    (bundle / RECORDS).write_bytes(raw[: data.draw(st.integers(0, len(raw) - 1))])
    report = verify_bundle(bundle)
    assert "file-hash" in codes(report)
    assert codes(report) & {"record-malformed", "range-mismatch"}


# -- mutations of the manifest and keys -------------------------------------------------


@hypothesis_settings
@given(data=st.data())
def test_any_flipped_byte_in_manifest_is_caught(bundle_copy: Copy, data: st.DataObject) -> None:
    bundle = bundle_copy()
    raw = bytearray((bundle / "MANIFEST.json").read_bytes())
    position = data.draw(st.integers(0, len(raw) - 1), label="position")
    raw[position] ^= data.draw(st.integers(1, 255), label="xor")
    (bundle / "MANIFEST.json").write_bytes(bytes(raw))
    report = verify_bundle(bundle)
    assert codes(report) & MANIFEST_LEVEL, report.problems


EDITS: dict[str, Callable[[dict[str, object]], None]] = {
    "origin": lambda m: m.update(origin="elsewhere"),
    "created_at": lambda m: m.update(created_at="2020-01-01T00:00:00.000000Z"),
    "range": lambda m: m.update(range={"first_seq": 2, "last_seq": LINES, "count": LINES - 1}),
    "sessions": lambda m: m.update(sessions={"session-0": LINES}),
    "files": lambda m: m["files"].update({RECORDS: "0" * 64}),  # type: ignore[attr-defined]
    # A signature over other data, claiming the genuine key id.
    "signatures": lambda m: m["signatures"][0].update(  # type: ignore[index]
        sig=b64encode(SigningKey.generate().sign(b"other data"))
    ),
}


@pytest.mark.parametrize("field", sorted(EDITS))
def test_edited_and_re_rendered_manifest_is_caught(bundle_copy: Copy, field: str) -> None:
    bundle = bundle_copy()
    manifest = json.loads((bundle / "MANIFEST.json").read_text())
    EDITS[field](manifest)
    rendered = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    (bundle / "MANIFEST.json").write_text(rendered)
    report = verify_bundle(bundle)
    assert "manifest-signature" in codes(report), report.problems


def test_whitespace_change_in_manifest_is_caught(bundle_copy: Copy) -> None:
    bundle = bundle_copy()
    text = (bundle / "MANIFEST.json").read_text()
    (bundle / "MANIFEST.json").write_text(text.replace("\n  ", "\n   ", 1))
    report = verify_bundle(bundle)
    assert codes(report) == {"manifest-format"}  # same content, signature still valid


def test_deleted_key_file_is_caught(bundle_copy: Copy) -> None:
    bundle = bundle_copy()
    [key_file] = (bundle / "keys").glob("*.json")
    key_file.unlink()
    report = verify_bundle(bundle)
    assert {"file-missing", "manifest-signature", "record-unknown-key"} <= codes(report)


def test_missing_manifest_is_caught_and_records_still_checked(bundle_copy: Copy) -> None:
    bundle = bundle_copy()
    (bundle / "MANIFEST.json").unlink()
    report = verify_bundle(bundle)
    assert codes(report) == {"manifest-missing"}
    assert report.records_checked == LINES


def test_added_file_is_caught(bundle_copy: Copy) -> None:
    bundle = bundle_copy()
    (bundle / "log" / "notes.txt").write_text("added later")
    os.symlink("/etc", bundle / "etc")
    report = verify_bundle(bundle)
    unlisted = sorted(p.message for p in report.problems if p.code == "file-unlisted")
    assert unlisted == [
        "etc is not listed in MANIFEST.json",
        "log/notes.txt is not listed in MANIFEST.json",
    ]


# -- precise messages -------------------------------------------------------------------


def test_dropped_record_message(bundle_copy: Copy) -> None:
    bundle = bundle_copy()
    lines = read_lines(bundle)
    del lines[6]
    write_lines(bundle, lines)
    gap = [p for p in verify_bundle(bundle).problems if p.code == "seq-gap"]
    assert [(p.message, p.line, p.seq) for p in gap] == [
        ("line 7: expected seq 7, found seq 8 (record 7 missing or reordered)", 7, 8)
    ]


def test_duplicate_and_reorder_messages(bundle_copy: Copy) -> None:
    bundle = bundle_copy()
    lines = read_lines(bundle)
    lines.insert(10, lines[3])  # seq 4 again after seq 10
    lines[1], lines[2] = lines[2], lines[1]  # seq 3 before seq 2
    write_lines(bundle, lines)
    gap = [p.message for p in verify_bundle(bundle).problems if p.code == "seq-gap"]
    assert gap == [
        "line 2: expected seq 2, found seq 3 (record 2 missing or reordered)",
        "line 3: expected seq 4, found seq 2 (out of order)",
        "line 11: seq 4 duplicates line 4 (expected seq 11)",
    ]


def test_bad_signature_names_line_and_seq(bundle_copy: Copy) -> None:
    bundle = bundle_copy()
    lines = read_lines(bundle)
    envelope = json.loads(lines[4])
    sig = envelope["signatures"][0]["sig"]
    envelope["signatures"][0]["sig"] = ("A" if sig[0] != "A" else "B") + sig[1:]
    lines[4] = json.dumps(envelope, separators=(",", ":")).encode() + b"\n"
    write_lines(bundle, lines)
    report = verify_bundle(bundle)
    [bad] = [p for p in report.problems if p.code == "record-signature"]
    assert (bad.line, bad.seq) == (5, 5)
    assert bad.message.startswith("line 5 (claims seq 5): signature by key")
    # One bad line is one problem: the following records are not reported as out of place
    # (and the log's tree no longer matches its checkpoint, reported once).
    assert codes(report) == {"record-signature", "file-hash", "checkpoint-mismatch"}


def test_broken_session_chain_is_reported(tmp_path: Path, key: SigningKey) -> None:
    # Two logs that each believe they own session "s" produce a fork of its chain.
    with SQLiteRecordStore(tmp_path / "a.db") as a, SQLiteRecordStore(tmp_path / "b.db") as b:
        AuditLog(a, key).append("s", POLICY, [{"type": "A", "n": 1}, {"type": "A", "n": 2}])
        AuditLog(b, key).append("s", POLICY, [{"type": "B", "n": 1}, {"type": "B", "n": 2}])
        export_bundle(a, key, tmp_path / "bundle", "o")
        lines = read_lines(tmp_path / "bundle")
        lines[1] = list(b.records())[1].line + b"\n"  # same seq and session_seq, other chain
    write_lines(tmp_path / "bundle", lines)
    report = verify_bundle(tmp_path / "bundle")
    assert codes(report) == {"session-chain", "file-hash", "checkpoint-mismatch"}
    [chain] = [p for p in report.problems if p.code == "session-chain"]
    assert (chain.line, chain.seq) == (2, 2)
    assert chain.message.startswith("line 2 (seq 2), session 's': prev ")


# -- keys: foreign signers and pinned trust ---------------------------------------------


def _bundle_signed_by(key: SigningKey, tmp_path: Path, name: str) -> Path:
    with SQLiteRecordStore(tmp_path / f"{name}.db") as store:
        fill(AuditLog(store, key, clock=StepClock()), batches=1)
        return export_bundle(store, key, tmp_path / name, "o").path


def test_records_replaced_by_a_foreign_signer_are_caught(tmp_path: Path, key: SigningKey) -> None:
    genuine = _bundle_signed_by(key, tmp_path, "genuine")
    foreign_key = SigningKey.generate()
    forged = _bundle_signed_by(foreign_key, tmp_path, "forged")
    # Keep the genuine manifest and key, bring in the forged records and their key.
    shutil.copy(forged / RECORDS, genuine / RECORDS)
    for key_file in (forged / "keys").iterdir():
        shutil.copy(key_file, genuine / "keys" / key_file.name)
    report = verify_bundle(genuine)
    assert {"file-hash", "file-unlisted"} <= codes(report)
    # Without the foreign key file, every forged record is an unknown signer.
    (genuine / "keys" / f"{foreign_key.public_key.keyid}.json").unlink()
    assert "record-unknown-key" in codes(verify_bundle(genuine))


def test_wholly_re_signed_bundle_fails_against_pinned_keys(tmp_path: Path, key: SigningKey) -> None:
    foreign = _bundle_signed_by(SigningKey.generate(), tmp_path, "foreign")
    # Internally consistent: only pinning the organisation's key id exposes it.
    assert verify_bundle(foreign).ok
    report = verify_bundle(foreign, trusted_keyids={key.public_key.keyid})
    assert {"key-untrusted", "manifest-signature", "record-unknown-key"} <= codes(report)
    genuine = _bundle_signed_by(key, tmp_path, "genuine")
    assert verify_bundle(genuine, trusted_keyids={key.public_key.keyid}).ok


def test_key_file_under_another_keys_name_is_caught(bundle_copy: Copy) -> None:
    bundle = bundle_copy()
    [key_file] = (bundle / "keys").glob("*.json")
    key_file.write_text(json.dumps(SigningKey.generate().public_key.to_securesystemslib_dict()))
    report = verify_bundle(bundle)
    assert {"key-id-mismatch", "file-hash", "manifest-signature"} <= codes(report)


# -- garbage and limits -----------------------------------------------------------------


def test_garbage_inputs_are_reported_not_raised(tmp_path: Path) -> None:
    assert codes(verify_bundle(tmp_path / "absent")) == {"bundle-missing"}
    (tmp_path / "file").write_text("x")
    assert codes(verify_bundle(tmp_path / "file")) == {"bundle-missing"}
    empty = tmp_path / "empty"
    empty.mkdir()
    assert codes(verify_bundle(empty)) == {"manifest-missing", "file-missing"}
    junk = tmp_path / "junk"
    (junk / "log").mkdir(parents=True)
    (junk / "keys").mkdir()
    (junk / "keys" / "x.json").write_bytes(b"\x00garbage")
    (junk / "MANIFEST.json").write_bytes(b"[1, 2")
    (junk / RECORDS).write_bytes(os.urandom(300) + b"\n\n" + b"[" * 50_000 + b"\n")
    report = verify_bundle(junk)
    assert {"key-malformed", "manifest-malformed", "record-malformed"} <= codes(report)
    assert report.records_checked >= 3
    assert not report.ok


def test_problem_list_stops_at_fifty(tmp_path: Path) -> None:
    with SQLiteRecordStore(tmp_path / "a.db") as store:
        key = SigningKey.generate()
        fill(AuditLog(store, key), sessions=4, batches=10, batch=2)  # 80 records
        bundle = export_bundle(store, key, tmp_path / "bundle", "o").path
    for key_file in (bundle / "keys").iterdir():
        key_file.write_text(json.dumps(SigningKey.generate().public_key.to_securesystemslib_dict()))
    report = verify_bundle(bundle)
    assert report.truncated
    assert len(report.problems) == 50


def test_worker_processes_give_the_same_report(bundle_copy: Copy) -> None:
    bundle = bundle_copy()
    lines = read_lines(bundle)
    del lines[3]
    lines[9] = lines[9].replace(b'"payload":"', b'"payload":"x', 1)
    write_lines(bundle, lines)
    serial = verify_bundle(bundle, workers=1)
    parallel = verify_bundle(bundle, workers=2)
    assert not serial.ok
    assert parallel == serial
