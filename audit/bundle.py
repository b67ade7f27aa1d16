"""Export of audit evidence as a self-contained bundle directory.

Layout (format 1)::

    MANIFEST.json          signed: origin, record range, per-session counts, file hashes
    keys/<keyid>.json      public keys (securesystemslib JSON) of every signer in the bundle
    keys/<keyid>.vkey      the same keys as signed-note verifier keys (name = origin)
    log/records.jsonl      one record line per line, in seq order, '\\n'-terminated;
                           line i is leaf i of the log's RFC 6962 tree (whole-log exports)
    log/checkpoints/<size>.note          signed checkpoints covering the exported range
    proofs/consistency/<old>-<new>.proof  between consecutive checkpoints
    proofs/inclusion/<seq>.tlog-proof     per record, for exports that are not the
                                          whole log from seq 1 (see `audit.bundle_tlog`)
    content/               the learner text the records seal, and what was erased
                           (see `audit.content_bundle`)

Files are written and synced first and the manifest last (via a rename), so an export that
dies half-way leaves a bundle without a manifest, which the verifier rejects, rather than
one that looks complete.

An export of chosen sessions (`sessions=`) holds each session's complete chain, from its
first record to its last at the time of export, and its manifest declares the selection; see
`audit.manifest`. `zip_bundle` packs a bundle directory into one file for download; the
verifier accepts either form.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import json
import os
import shutil
import zipfile
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from audit.bundle_tlog import vkey_files, write_log_evidence
from audit.bundle_views import write_session_views
from audit.content_bundle import ContentExport
from audit.errors import AuditError, BundleError
from audit.fsutil import fsync_dir, write_all, write_new_file
from audit.keys import PublicKey, SigningKey
from audit.log_tree import KeptTree
from audit.manifest import (
    BUNDLE_FORMAT,
    KEYS_DIR,
    MANIFEST_NAME,
    RECORDS_PATH,
    render_manifest,
    sign_manifest,
)
from audit.merkle import leaf_hash
from audit.merkle_index import MerkleIndex
from audit.store import RecordStore, StoredRecord
from audit.timefmt import format_timestamp, utc_now


@dataclass(frozen=True, slots=True)
class BundleSummary:
    """What was exported, and where."""

    path: Path
    first_seq: int
    last_seq: int
    count: int
    sessions: int
    keyids: tuple[str, ...]  # keys whose public halves are in keys/


def export_bundle(
    store: RecordStore,
    key: SigningKey,
    out_dir: Path,
    origin: str,
    *,
    first_seq: int = 1,
    last_seq: int | None = None,
    record_keys: Iterable[PublicKey] = (),
    clock: Callable[[], datetime] | None = None,
    sessions: Collection[str] | None = None,
    filters: Mapping[str, str | int] | None = None,
    log_tree: KeptTree | None = None,
) -> BundleSummary:
    """Write records `first_seq`..`last_seq` (default: to the current head) as a bundle.

    With `sessions`, only those sessions' records are written, each session's whole chain
    (so `first_seq` must be 1), and the manifest declares the selection and the `filters`
    that chose it. Every named session must have at least one record.

    `log_tree`, for an export of `sessions`: the leaves of the log's records 1..`last_seq`,
    kept by a caller that exports often (`audit.log_tree.LogTreeCache`). The sessions' records
    are then read by session instead of by scanning the whole log, so the cost follows the
    sessions' length, not the log's; their rows are held in memory, so this suits a few
    sessions. The log is then not re-hashed against its checkpoints here: a record altered
    after it was hashed into `log_tree` is caught by the verifier, whose inclusion proof for
    it fails. The tree may grow (to the checkpoint that anchors the proofs).

    `key` signs the manifest. Records are usually signed by the same key; records signed by
    earlier keys (after a rotation) need those public keys in `record_keys`, else the export
    is refused, since the bundle could not be verified. `out_dir` must be absent or empty.
    Raises `BundleError`; on failure, nothing is left in `out_dir`.
    """
    out_dir = Path(out_dir)
    _prepare_empty_dir(out_dir)
    try:
        selection = None if sessions is None else _Selection(frozenset(sessions), filters or {})
        return _export(
            store,
            key,
            out_dir,
            origin,
            first_seq,
            last_seq,
            record_keys,
            clock,
            selection,
            log_tree,
        )
    except BaseException as exc:
        with contextlib.suppress(OSError):
            _empty_dir(out_dir)
        if isinstance(exc, OSError):
            raise BundleError(f"cannot write bundle to {out_dir}: {exc}") from exc
        if isinstance(exc, AuditError | ValueError) and not isinstance(exc, BundleError):
            raise BundleError(f"cannot export bundle: {exc}") from exc
        raise


@dataclass(frozen=True, slots=True)
class _Selection:
    sessions: frozenset[str]
    filters: Mapping[str, str | int]


def _export(
    store: RecordStore,
    key: SigningKey,
    out_dir: Path,
    origin: str,
    first_seq: int,
    last_seq: int | None,
    record_keys: Iterable[PublicKey],
    clock: Callable[[], datetime] | None,
    selection: _Selection | None,
    log_tree: KeptTree | None,
) -> BundleSummary:
    if not origin:
        raise BundleError("origin must name the log the bundle comes from")
    upper = store.head() if last_seq is None else last_seq
    if first_seq < 1 or upper < first_seq:
        raise BundleError(f"no records to export in seq {first_seq}..{upper}")
    if selection is not None and first_seq != 1:
        raise BundleError("an export of chosen sessions holds whole chains: first_seq must be 1")
    if selection is not None and not selection.sessions:
        raise BundleError("no sessions were chosen for the export")
    if log_tree is not None and (selection is None or log_tree.index.size != upper):
        raise BundleError(
            "a kept log tree serves exports of chosen sessions and must hold exactly the "
            f"records up to seq {upper} (it holds {log_tree.index.size})"
        )
    available = {k.keyid: k for k in record_keys}
    available[key.public_key.keyid] = key.public_key

    records_file = out_dir / RECORDS_PATH
    records_file.parent.mkdir()
    hasher = hashlib.sha256()
    sessions: dict[str, int] = {}
    signer_ids: set[str] = {key.public_key.keyid}
    expected = first_seq
    chosen: list[int] = []  # the seqs written
    tree = None if log_tree is None else log_tree.index
    if tree is None and first_seq == 1:
        tree = MerkleIndex()  # every record read, for the proofs
    low: int | None = None  # the first and last seq written
    high = upper
    content = ContentExport()  # the sealed text the exported records refer to
    fd = os.open(records_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        for record in _read(store, first_seq, upper, selection, log_tree):
            if log_tree is None:
                if record.seq != expected:
                    raise BundleError(f"store returned seq {record.seq} where {expected} was due")
                expected += 1
                if tree is not None:
                    tree.append(leaf_hash(record.line))
                if selection is not None and record.session_id not in selection.sessions:
                    continue
            low = record.seq if low is None else low
            high = record.seq
            for keyid in _signer_ids(record.line, record.seq):
                if keyid not in available:
                    raise BundleError(
                        f"record seq {record.seq} is signed by key {keyid}, whose public key "
                        "was not supplied (pass it in record_keys)"
                    )
                signer_ids.add(keyid)
            chosen.append(record.seq)
            content.note(record)
            data = record.line + b"\n"
            hasher.update(data)
            write_all(fd, data)
            sessions[record.session_id] = sessions.get(record.session_id, 0) + 1
        os.fsync(fd)
    finally:
        os.close(fd)
    if log_tree is None and expected != upper + 1:
        raise BundleError(f"store ended at seq {expected - 1}, expected {upper}")
    if selection is not None:
        absent = sorted(selection.sessions - sessions.keys())
        if absent:
            raise BundleError(f"no records of session(s) {', '.join(map(repr, absent))}")
    if low is None:
        raise BundleError("no records were written")
    count = sum(sessions.values())
    files = {RECORDS_PATH: hasher.hexdigest()}
    fsync_dir(records_file.parent)
    files.update(content.write(store, out_dir))
    files.update(
        write_session_views(
            out_dir,
            available,
            origin=origin,
            exported_by=key.public_key.keyid,
            texts=content.texts,
        )
    )
    partial_export = selection is not None or first_seq > 1
    evidence = write_log_evidence(
        out_dir,
        store,
        key,
        origin,
        first_seq=first_seq,
        last_seq=upper,
        exported=chosen if partial_export else None,
        keys=available,
        index=tree,
        matched_size=0 if log_tree is None else log_tree.matched_size,
    )
    if log_tree is not None:
        log_tree.matched_size = evidence.anchor_size
    files.update(evidence.files)
    signer_ids |= evidence.signers

    keys_dir = out_dir / KEYS_DIR
    keys_dir.mkdir()
    for keyid in sorted(signer_ids):
        text = json.dumps(available[keyid].to_securesystemslib_dict(), indent=2, sort_keys=True)
        name = f"{KEYS_DIR}/{keyid}.json"
        files[name] = write_new_file(out_dir / name, (text + "\n").encode())
    for name, data in vkey_files(sorted(evidence.vkeys.items())).items():
        files[name] = write_new_file(out_dir / name, data)
    fsync_dir(keys_dir)

    body: dict[str, object] = {
        "bundle_format": BUNDLE_FORMAT,
        "origin": origin,
        "created_at": format_timestamp((clock or utc_now)()),
        "range": {"first_seq": low, "last_seq": high, "count": count},
        "sessions": sessions,
        "files": files,
    }
    if selection is not None:
        body["selection"] = {"filters": dict(selection.filters), "head_seq": upper}
    manifest = sign_manifest(body, key)
    partial = out_dir / f".{MANIFEST_NAME}.tmp"
    write_new_file(partial, render_manifest(manifest))
    partial.rename(out_dir / MANIFEST_NAME)
    fsync_dir(out_dir)
    return BundleSummary(
        path=out_dir,
        first_seq=low,
        last_seq=high,
        count=count,
        sessions=len(sessions),
        keyids=tuple(sorted(signer_ids)),
    )


def zip_bundle(bundle: Path, archive: Path) -> Path:
    """Pack the bundle directory `bundle` into the zip file `archive` (which must not exist).

    Entries are the bundle's files at the same relative paths, sorted, with a fixed date, so
    the same bundle always packs to the same bytes. Raises `BundleError`.
    """
    bundle, archive = Path(bundle), Path(archive)
    partial = archive.with_name(f".{archive.name}.tmp")
    try:
        if archive.exists():
            raise BundleError(f"{archive} exists; choose a new file name")
        names = sorted(
            path.relative_to(bundle).as_posix() for path in bundle.rglob("*") if path.is_file()
        )
        if MANIFEST_NAME not in names:
            raise BundleError(f"{bundle} has no {MANIFEST_NAME}: not a finished bundle")
        with zipfile.ZipFile(partial, "x", compression=zipfile.ZIP_DEFLATED) as packed:
            for name in names:
                entry = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                entry.compress_type = zipfile.ZIP_DEFLATED
                entry.external_attr = 0o100644 << 16
                packed.writestr(entry, (bundle / name).read_bytes())
        with partial.open("rb") as handle:
            os.fsync(handle.fileno())
        partial.rename(archive)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise BundleError(f"cannot write {archive}: {exc}") from exc
    return archive


def _read(
    store: RecordStore,
    first_seq: int,
    upper: int,
    selection: _Selection | None,
    log_tree: KeptTree | None,
) -> Iterator[StoredRecord]:
    """The records to go through: the whole range, or with a kept log tree only the chosen
    sessions' chains, merged into log order."""
    if log_tree is None or selection is None:
        return store.records(first_seq, upper)
    chains = [store.session_records(session, upper) for session in sorted(selection.sessions)]
    for chain in chains:
        if [record.session_seq for record in chain] != list(range(len(chain))):
            session = chain[0].session_id
            raise BundleError(f"the store's chain of session {session!r} has a gap")
    return heapq.merge(*chains, key=lambda record: record.seq)


def _signer_ids(line: bytes, seq: int) -> list[str]:
    """Key ids named by a stored record line (the store's own data; refuse if unreadable)."""
    try:
        envelope = json.loads(line)
        return [str(entry["keyid"]) for entry in envelope["signatures"]]
    except (ValueError, TypeError, KeyError) as exc:
        raise BundleError(f"stored record seq {seq} is not a DSSE envelope: {exc}") from exc


def _prepare_empty_dir(out_dir: Path) -> None:
    if out_dir.exists() or out_dir.is_symlink():
        if not out_dir.is_dir():
            raise BundleError(f"{out_dir} exists and is not a directory")
        if any(out_dir.iterdir()):
            raise BundleError(f"{out_dir} is not empty; export into a new or empty directory")
        return
    try:
        out_dir.mkdir(parents=True)
    except OSError as exc:
        raise BundleError(f"cannot create {out_dir}: {exc}") from exc


def _empty_dir(out_dir: Path) -> None:
    """Remove what a failed export wrote (the directory was empty when it began)."""
    for entry in out_dir.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
