"""Exports of chosen sessions with a kept log tree: the same bundle, byte for byte, as an
export that reads the whole log, and a record altered after it was hashed is still caught."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit import AuditLog, BundleError, SigningKey, export_bundle, verify_bundle
from audit.log_tree import KeptTree, LogTreeCache
from tests.audit.helpers import POLICY, event
from tests.audit.test_tlog_verify import (
    ORIGIN,
    Log,
    Plan,
    build,
    examples,
    plans,
    workdir,
)

FIXED = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
__all__ = ["workdir"]  # the fixture, shared with the transparency-log tests


def _files(bundle: Path) -> dict[str, bytes]:
    return {
        path.relative_to(bundle).as_posix(): path.read_bytes()
        for path in sorted(bundle.rglob("*"))
        if path.is_file()
    }


def _export(log: Log, name: str, sessions: list[str], cache: LogTreeCache | None) -> Path:
    def write(tree: KeptTree | None, last_seq: int | None) -> Path:
        return export_bundle(
            log.store,
            log.key,
            log.folder / name,
            ORIGIN,
            clock=lambda: FIXED,
            sessions=sessions,
            last_seq=last_seq,
            log_tree=tree,
        ).path

    if cache is None:
        return write(None, None)
    with cache.up_to_date(log.store) as tree:
        return write(tree, tree.index.size)


@examples
@given(plan=plans, more=plans, data=st.data())
def test_a_kept_tree_gives_the_same_bundle_as_reading_the_whole_log(
    workdir: Path, key: SigningKey, plan: Plan, more: Plan, data: st.DataObject
) -> None:
    log = build(workdir / "log", key, plan)
    cache = LogTreeCache()
    for round_ in range(2):
        sessions = log.store.session_ids()
        chosen = data.draw(st.lists(st.sampled_from(sessions), min_size=1, unique=True))
        kept = _export(log, f"kept-{round_}", chosen, cache)
        read = _export(log, f"read-{round_}", chosen, None)
        assert _files(kept) == _files(read)
        assert verify_bundle(kept, workers=1).ok
        for session, count, _ in more:  # the log grows between exports
            events = [event(100 * round_ + i) for i in range(count)]
            AuditLog(log.store, key).append(f"later-{session}", POLICY, events)


def test_a_record_re_signed_after_it_was_hashed_fails_its_inclusion_proof(
    workdir: Path, key: SigningKey
) -> None:
    """Someone with the signing key rewrites a stored record: the signature holds, but the
    line is no longer the leaf the log's checkpoints committed to."""
    import sqlite3

    from audit import decode_record, encode_record

    log = build(workdir / "log", key, [(0, 2, True), (1, 2, True)])
    cache = LogTreeCache()
    _export(log, "before", ["session-0"], cache)
    original = next(r for r in log.store.records() if r.session_id == "session-0")
    payload = decode_record(original.line, {key.public_key.keyid: key.public_key})
    rewritten = payload.model_copy(update={"event": {**payload.event, "n": -1}})
    forged = encode_record(rewritten, key)
    database = sqlite3.connect(log.store.path, isolation_level=None)
    database.execute("DROP TRIGGER records_no_update")
    database.execute("UPDATE records SET line = ? WHERE seq = ?", (forged, original.seq))
    database.close()
    bundle = _export(log, "after", ["session-0"], cache)
    found = {problem.code for problem in verify_bundle(bundle, workers=1).problems}
    assert "proof-invalid" in found, found


def test_a_kept_tree_must_match_the_range_and_serve_chosen_sessions(
    workdir: Path, key: SigningKey
) -> None:
    log = build(workdir / "log", key, [(0, 2, True), (1, 1, False)])
    behind = KeptTree()
    with pytest.raises(BundleError, match="must hold exactly the records up to seq"):
        export_bundle(
            log.store, key, log.folder / "a", ORIGIN, sessions=["session-0"], log_tree=behind
        )
    cache = LogTreeCache()
    with (
        cache.up_to_date(log.store) as tree,
        pytest.raises(BundleError, match="serves exports of chosen sessions"),
    ):
        export_bundle(log.store, key, log.folder / "b", ORIGIN, log_tree=tree)
    assert not any((log.folder / "a").iterdir()) and not any((log.folder / "b").iterdir())


def test_a_log_altered_before_its_tree_is_kept_is_refused_as_before(
    workdir: Path, key: SigningKey
) -> None:
    import sqlite3

    log = build(workdir / "log", key, [(0, 2, True), (1, 2, True)])
    database = sqlite3.connect(log.store.path, isolation_level=None)
    database.execute("DROP TRIGGER records_no_update")
    line = database.execute("SELECT line FROM records WHERE seq = 2").fetchone()[0]
    database.execute("UPDATE records SET line = ? WHERE seq = 2", (bytes(line) + b" ",))
    database.close()
    with pytest.raises(BundleError, match="no longer match its checkpoint"):
        _export(log, "kept", ["session-1"], LogTreeCache())
