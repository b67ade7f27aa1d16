"""The transparency log end to end: random logs, exported with their checkpoints and proofs,
verified offline; every kind of tampering is rejected with its own code and exit status."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit import AuditLog, SigningKey, SQLiteRecordStore, export_bundle, verify_bundle
from audit.bundle_tlog import checkpoint_file, inclusion_file
from audit.problems import ExitStatus, exit_status
from cli.main import main
from tests.audit.helpers import POLICY, StepClock, event

ORIGIN = "proctor.test/log"
RECORDS = "log/records.jsonl"
ENDED = {"type": "session.ended", "reason": "completed"}
examples = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# A log plan: (session number, events in the batch, whether the batch closes the session).
Plan = list[tuple[int, int, bool]]
plans = st.lists(
    st.tuples(st.integers(0, 3), st.integers(1, 3), st.booleans()), min_size=2, max_size=9
)


@dataclass
class Log:
    folder: Path
    store: SQLiteRecordStore
    key: SigningKey

    def bundle(self, name: str = "bundle", **kwargs: object) -> Path:
        return export_bundle(self.store, self.key, self.folder / name, ORIGIN, **kwargs).path  # type: ignore[arg-type]

    def newest_checkpoint(self) -> bytes:
        return self.store.checkpoints(ORIGIN)[-1].note.encode()


_OPEN: list[SQLiteRecordStore] = []


@pytest.fixture
def workdir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="tlog-"))
    yield folder
    while _OPEN:
        _OPEN.pop().close()
    shutil.rmtree(folder, ignore_errors=True)


def build(
    folder: Path, key: SigningKey, plan: Plan, every: int = 3, *, skip: int = -1, salt: int = 0
) -> Log:
    """Write `plan` to a new log in a new folder under `folder` (hypothesis runs a test
    many times in one fixture); batch number `skip` is left out (a rewritten history)."""
    folder.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=folder))
    store = SQLiteRecordStore(folder / "audit.db")
    _OPEN.append(store)
    log = AuditLog(store, key, clock=StepClock(), origin=ORIGIN, checkpoint_every=every)
    ended: set[int] = set()
    for number, (session, count, closes) in enumerate(plan):
        if number == skip:
            continue
        name = f"session-{session}" + ("-again" if session in ended else "")
        events: list[dict[str, object]] = [event(salt + number * 10 + i) for i in range(count)]
        if closes:
            events.append(ENDED)
            ended.add(session)
        log.append(name, POLICY, events)
    return Log(folder, store, key)


def codes(bundle: Path, **kwargs: object) -> set[str]:
    return {problem.code for problem in verify_bundle(bundle, workers=1, **kwargs).problems}  # type: ignore[arg-type]


def lines_of(bundle: Path) -> list[bytes]:
    return (bundle / RECORDS).read_bytes().splitlines(keepends=True)


def rewrite(bundle: Path, lines: list[bytes]) -> None:
    (bundle / RECORDS).write_bytes(b"".join(lines))


# -- whole-log bundles --------------------------------------------------------------------


@examples
@given(plan=plans, every=st.integers(1, 6))
def test_random_logs_export_and_verify(
    workdir: Path, key: SigningKey, plan: Plan, every: int
) -> None:
    log = build(workdir / "log", key, plan, every)
    bundle = log.bundle()
    report = verify_bundle(bundle, workers=1)
    assert report.ok, report.problems
    notes = sorted(p.name for p in (bundle / "log" / "checkpoints").iterdir())
    head = log.store.head()
    assert f"{head}.note" in notes  # a checkpoint of the exported head
    assert len(notes) == len(log.store.checkpoints(ORIGIN))
    proofs = list((bundle / "proofs" / "consistency").glob("*.proof")) if len(notes) > 1 else []
    assert len(proofs) == len(notes) - 1
    # Any checkpoint the log ever issued is a trusted checkpoint this bundle extends.
    for stored in log.store.checkpoints(ORIGIN):
        assert verify_bundle(bundle, workers=1, trusted_checkpoint=stored.note).ok


@examples
@given(plan=plans, data=st.data())
def test_dropped_reordered_or_duplicated_records_break_the_tree(
    workdir: Path, key: SigningKey, plan: Plan, data: st.DataObject
) -> None:
    log = build(workdir / "log", key, plan)
    bundle = log.bundle()
    lines = lines_of(bundle)
    how = data.draw(st.sampled_from(["drop", "swap", "duplicate"]), label="how")
    i = data.draw(st.integers(0, len(lines) - 1), label="i")
    if how == "drop":
        del lines[i]
    elif how == "swap":
        j = data.draw(st.integers(0, len(lines) - 1).filter(lambda j: j != i), label="j")
        lines[i], lines[j] = lines[j], lines[i]
    else:
        lines.insert(data.draw(st.integers(0, len(lines)), label="at"), lines[i])
    rewrite(bundle, lines)
    found = codes(bundle)
    assert {"checkpoint-mismatch", "seq-gap"} <= found or {"checkpoint-mismatch"} <= found
    assert found & {"seq-gap", "range-mismatch"}
    assert exit_status(found) is ExitStatus.RECORDS


@examples
@given(plan=plans, data=st.data())
def test_a_record_spliced_from_another_log_breaks_the_tree(
    workdir: Path, key: SigningKey, plan: Plan, data: st.DataObject
) -> None:
    genuine = build(workdir / "a", key, plan)
    other = build(workdir / "b", key, plan, salt=1000)
    bundle = genuine.bundle()
    lines = lines_of(bundle)
    foreign = lines_of(other.bundle())
    i = data.draw(st.integers(0, min(len(lines), len(foreign)) - 1), label="i")
    lines[i] = foreign[i]  # same key, same seq: only the tree (and maybe a chain) notices
    rewrite(bundle, lines)
    found = codes(bundle)
    assert "checkpoint-mismatch" in found
    assert exit_status(found) in (ExitStatus.RECORDS, ExitStatus.LOG)


# -- against the auditor's trusted checkpoint -----------------------------------------------


@examples
@given(plan=plans)
def test_a_bundle_smaller_than_the_trusted_checkpoint_is_a_rollback(
    workdir: Path, key: SigningKey, plan: Plan
) -> None:
    log = build(workdir / "log", key, plan)
    early = log.bundle("early")
    log_more = AuditLog(log.store, key, origin=ORIGIN)
    log_more.append("late", POLICY, [event(999), ENDED])
    later = log.newest_checkpoint()
    found = codes(early, trusted_checkpoint=later)
    assert found == {"checkpoint-rollback"}
    assert exit_status(found) is ExitStatus.HISTORY
    assert verify_bundle(log.bundle("late"), trusted_checkpoint=later).ok


@examples
@given(plan=plans)
def test_another_root_for_the_same_size_is_a_fork(
    workdir: Path, key: SigningKey, plan: Plan
) -> None:
    genuine = build(workdir / "a", key, plan)
    bundle = genuine.bundle()
    # The same key and origin signing another history of the same length: a fork.
    shifted = [(s, n, e) for s, n, e in plan]
    shifted[0] = (shifted[0][0] + 1, shifted[0][1], shifted[0][2])
    twin = build(workdir / "b", key, shifted)
    assert twin.store.head() == genuine.store.head()
    twin.bundle()  # makes sure the twin has a checkpoint at its head
    found = codes(bundle, trusted_checkpoint=twin.newest_checkpoint())
    assert found == {"checkpoint-fork"}
    assert exit_status(found) is ExitStatus.HISTORY


@examples
@given(plan=plans.filter(lambda p: len(p) >= 3), data=st.data())
def test_a_rewritten_history_is_caught(
    workdir: Path, key: SigningKey, plan: Plan, data: st.DataObject
) -> None:
    original = build(workdir / "a", key, plan)
    original.bundle("first")  # the auditor saw it, and kept its newest checkpoint
    trusted = original.newest_checkpoint()
    # Whoever holds the key rebuilds the log without one batch, then appends more than it
    # dropped, so the rewritten bundle is larger and internally perfect.
    skip = data.draw(st.integers(0, len(plan) - 2), label="skip")
    rewritten = build(workdir / "b", key, [*plan, (0, 3, True), (1, 3, True)], skip=skip)
    bundle = rewritten.bundle()
    assert verify_bundle(bundle, workers=1).ok  # on its own, nothing is wrong
    found = codes(bundle, trusted_checkpoint=trusted)
    assert found & {"checkpoint-inconsistent", "checkpoint-fork"}, found
    assert exit_status(found) is ExitStatus.HISTORY


def test_swapped_keys_are_caught(workdir: Path, key: SigningKey) -> None:
    plan: Plan = [(0, 2, False), (1, 2, True), (0, 1, True)]
    genuine = build(workdir / "a", key, plan)
    genuine.bundle("first")
    trusted = genuine.newest_checkpoint()
    impostor = build(workdir / "b", SigningKey.generate(), plan)
    bundle = impostor.bundle()
    assert verify_bundle(bundle).ok  # internally consistent, under the impostor's key
    found = codes(bundle, trusted_checkpoint=trusted)
    assert found == {"trusted-checkpoint-invalid"}
    assert exit_status(found) is ExitStatus.TRUSTED_CHECKPOINT
    pinned = codes(bundle, trusted_keyids={key.public_key.keyid})
    assert {"key-untrusted", "manifest-signature", "checkpoint-signature"} <= pinned
    # The impostor's verifier key file put in front of the genuine bundle's checkpoints:
    real = genuine.bundle("second")
    vkey = next((real / "keys").glob("*.vkey"))
    vkey.write_bytes(next((bundle / "keys").glob("*.vkey")).read_bytes())
    assert {"key-id-mismatch", "checkpoint-signature"} <= codes(real)


# -- checkpoint and proof files --------------------------------------------------------------


def test_checkpoint_files_are_checked(workdir: Path, key: SigningKey) -> None:
    log = build(workdir / "log", key, [(0, 2, True), (1, 2, True), (2, 3, False)], every=100)
    bundle = log.bundle()
    names = sorted((bundle / "log" / "checkpoints").iterdir(), key=lambda p: int(p.stem))
    assert [p.name for p in names] == ["3.note", "6.note", "9.note"]
    # A forged signature line under the genuine key name and ID.
    note = names[0].read_text()
    body, _, sig = note.rpartition("\n\n")
    tampered = sig[:-10] + ("A" if sig[-10] != "A" else "B") + sig[-9:]
    names[0].write_text(body + "\n\n" + tampered)
    found = codes(bundle)
    assert {"checkpoint-signature", "file-hash"} <= found
    assert exit_status(found) is ExitStatus.LOG
    # The newest checkpoint removed: records after seq 6 are no longer under a signed root.
    names[0].write_text(note)
    names[-1].unlink()
    found = codes(bundle)
    assert {"file-missing", "checkpoint-mismatch"} <= found
    # A consistency proof altered (and the manifest not updated, which is caught too).
    names[-1].write_text("x")
    proof = bundle / "proofs" / "consistency" / "3-6.proof"
    text = proof.read_text().splitlines()
    text[3] = "A" * 43 + "="
    proof.write_text("\n".join(text) + "\n")
    assert {"proof-invalid", "file-hash", "checkpoint-malformed"} <= codes(bundle)


def test_a_bundle_without_checkpoints_is_refused(workdir: Path, key: SigningKey) -> None:
    bundle = build(workdir / "log", key, [(0, 2, True)]).bundle()
    shutil.rmtree(bundle / "log" / "checkpoints")
    assert {"checkpoint-missing", "file-missing"} <= codes(bundle)


# -- bundles of chosen sessions: inclusion proofs ---------------------------------------------


@examples
@given(plan=plans, data=st.data())
def test_subset_bundles_prove_every_record(
    workdir: Path, key: SigningKey, plan: Plan, data: st.DataObject
) -> None:
    log = build(workdir / "log", key, plan)
    sessions = log.store.session_ids()
    chosen = data.draw(st.lists(st.sampled_from(sessions), min_size=1, unique=True), label="s")
    bundle = log.bundle(sessions=chosen)
    assert verify_bundle(bundle, workers=1).ok
    proofs = sorted((bundle / "proofs" / "inclusion").iterdir())
    assert len(proofs) == len(lines_of(bundle))
    assert proofs[0].read_text().startswith("c2sp.org/tlog-proof@v1\nindex ")
    # A proof hash changed: that record is no longer shown to be in the log.
    target = data.draw(st.sampled_from(proofs), label="proof")
    text = target.read_text().split("\n")
    if text[2]:  # a tree of one leaf has no proof hashes to alter
        text[2] = ("B" if text[2][0] == "A" else "A") + text[2][1:]
        target.write_text("\n".join(text))
        found = codes(bundle)
        assert {"proof-invalid", "file-hash"} <= found, found
        assert exit_status(found) is ExitStatus.LOG
    target.unlink()
    assert "proof-missing" in codes(bundle)


def test_a_record_spliced_into_a_subset_bundle_has_no_valid_proof(
    workdir: Path, key: SigningKey
) -> None:
    plan: Plan = [(0, 2, False), (1, 2, True), (0, 2, True)]
    genuine = build(workdir / "a", key, plan)
    other = build(workdir / "b", key, plan, salt=1000)
    bundle = genuine.bundle(sessions=["session-0"])
    lines = lines_of(bundle)
    foreign = [r.line + b"\n" for r in other.store.records() if r.session_id == "session-0"]
    lines[1] = foreign[1]
    rewrite(bundle, lines)
    found = codes(bundle)
    assert "proof-invalid" in found or "proof-missing" in found, found
    problem = next(p for p in verify_bundle(bundle).problems if p.code.startswith("proof-"))
    assert problem.line == 2 and inclusion_file(problem.seq or 0) in problem.message


def test_a_partial_range_carries_inclusion_proofs(workdir: Path, key: SigningKey) -> None:
    log = build(workdir / "log", key, [(0, 3, True), (1, 3, True), (2, 2, True)])
    bundle = log.bundle(first_seq=4, last_seq=7)
    assert verify_bundle(bundle).ok
    assert (bundle / inclusion_file(4)).is_file()
    assert (bundle / checkpoint_file(8)).is_file()  # the anchor covers seq 7


def test_a_whole_log_export_behind_the_head_is_tied_to_a_later_checkpoint(
    workdir: Path, key: SigningKey
) -> None:
    log = build(workdir / "log", key, [(0, 3, True), (1, 3, True)])  # checkpoints 4 and 8
    bundle = log.bundle(last_seq=5)
    assert verify_bundle(bundle).ok
    assert (bundle / "proofs" / "consistency" / "5-8.proof").is_file()
    assert not (bundle / checkpoint_file(5)).exists()


# -- the CLI --------------------------------------------------------------------------------


def test_cli_exit_codes(workdir: Path, key: SigningKey, capsys: pytest.CaptureFixture[str]) -> None:
    log = build(workdir / "log", key, [(0, 2, True), (1, 2, True)])
    bundle = log.bundle()
    trusted = workdir / "trusted.note"
    trusted.write_bytes(log.newest_checkpoint())

    def verify(*extra: str) -> tuple[int, str]:
        code = main(["audit", "verify", str(bundle), *extra])
        return code, capsys.readouterr().err

    assert verify("--trusted-checkpoint", str(trusted))[0] == 0
    assert main(["audit", "verify", str(bundle), "--json"]) == 0
    assert '"exit_status": 0' in capsys.readouterr().out
    code, err = verify("--trusted-checkpoint", str(workdir / "absent.note"))
    assert code == 7 and "absent.note: cannot read the trusted checkpoint" in err
    trusted.write_text("garbage")
    code, err = verify("--trusted-checkpoint", str(trusted))
    assert code == 7 and "trusted-checkpoint-invalid" in err

    AuditLog(log.store, key, origin=ORIGIN).append("more", POLICY, [event(5), ENDED])
    trusted.write_bytes(log.newest_checkpoint())
    code, err = verify("--trusted-checkpoint", str(trusted))
    assert code == 6 and "checkpoint-rollback" in err and "rollback:" in err

    lines = lines_of(bundle)
    rewrite(bundle, lines[:1] + lines[2:])
    code, err = verify()
    assert code == 1 and "seq-gap" in err and "checkpoint-mismatch" in err
    rewrite(bundle, lines)
    (bundle / checkpoint_file(4)).write_text("not a note\n")
    code, err = verify()
    assert code == 5 and "log/checkpoints/4.note" in err
    with pytest.raises(SystemExit) as usage:
        main(["audit", "verify", "--help"])
    assert usage.value.code == 0
    helptext = capsys.readouterr().out
    assert "--trusted-checkpoint" in helptext and "6  history rewritten" in helptext


def test_a_log_altered_behind_its_checkpoints_is_not_exported(
    workdir: Path, key: SigningKey
) -> None:
    import sqlite3

    from audit import BundleError

    log = build(workdir / "log", key, [(0, 2, True), (1, 2, True)])
    conn = sqlite3.connect(log.store.path, isolation_level=None)
    conn.execute("DROP TRIGGER records_no_update")  # what an intruder would have to do
    line = conn.execute("SELECT line FROM records WHERE seq = 2").fetchone()[0]
    conn.execute("UPDATE records SET line = ? WHERE seq = 2", (bytes(line).replace(b"A", b"B", 1),))
    conn.close()
    with pytest.raises(BundleError, match="no longer match its checkpoint of size 3"):
        log.bundle()


def test_exit_status_classes_and_precedence() -> None:
    assert exit_status([]) is ExitStatus.OK
    assert exit_status(["file-hash", "seq-gap", "checkpoint-inconsistent"]) is ExitStatus.RECORDS
    assert exit_status(["checkpoint-fork", "proof-invalid"]) is ExitStatus.HISTORY
    assert exit_status(["proof-invalid", "key-untrusted", "file-hash"]) is ExitStatus.LOG
    assert exit_status(["key-untrusted", "manifest-signature"]) is ExitStatus.KEYS
    assert exit_status(["manifest-signature", "trusted-checkpoint-invalid"]) is ExitStatus.BUNDLE
    assert exit_status(["trusted-checkpoint-invalid"]) is ExitStatus.TRUSTED_CHECKPOINT
    assert exit_status(["verify-error"]) is ExitStatus.ERROR
    assert exit_status(["content-mismatch"]) is ExitStatus.RECORDS  # any other evidence code
    assert sorted({int(s) for s in ExitStatus}) == [0, 1, 3, 4, 5, 6, 7, 8]  # 2: usage


@examples
@given(data=st.data())
def test_any_flipped_byte_in_checkpoints_proofs_or_vkeys_is_caught(
    workdir: Path, key: SigningKey, data: st.DataObject
) -> None:
    log = build(workdir / "log", key, [(0, 2, True), (1, 2, True), (0, 1, False)])
    sessions = data.draw(st.sampled_from([None, ["session-1"]]), label="sessions")
    bundle = log.bundle() if sessions is None else log.bundle(sessions=sessions)
    files = sorted(
        p
        for p in bundle.rglob("*")
        if p.is_file() and (p.suffix in (".note", ".proof", ".tlog-proof", ".vkey"))
    )
    target = data.draw(st.sampled_from(files), label="file")
    raw = bytearray(target.read_bytes())
    raw[data.draw(st.integers(0, len(raw) - 1), label="at")] ^= data.draw(st.integers(1, 255))
    target.write_bytes(bytes(raw))
    report = verify_bundle(bundle, workers=1)
    found = {problem.code for problem in report.problems}
    assert "file-hash" in found and "verify-error" not in found
    # Not only the hash: the verifier itself notices the damaged evidence.
    assert found - {"file-hash"}, report.problems
