"""Offline verification of an export bundle.

`verify_bundle` needs nothing but the bundle (a directory, or the same files in a zip
archive, which is unpacked into a temporary directory first): it checks the manifest signature
against the bundle's own keys, every file hash, and every record (canonical form, DSSE
signature, payload, seq order, session hash chains) and the sealed learner text against
the records' commitments (`audit.content_verify`), and reports each problem with a stable
code and the line and seq involved. It never raises on bad input; a missing file or
garbage is a reported problem.

A subset bundle (its manifest has a ``selection``) holds the complete chains of chosen
sessions: there every session must run from session_seq 0 with as many records as the
manifest says, and seq must rise from line to line, but need not be contiguous.

The bundle's transparency-log evidence (checkpoints, consistency and inclusion proofs, and
an auditor's own trusted checkpoint if given) is checked by `audit.verify_tlog`, fed each
line as it is read, so the Merkle tree is rebuilt in the same single pass over the file.

A bundle's keys prove only that the bundle is internally consistent: whoever holds a key
can make a consistent bundle with it. An auditor who knows the organisation's audit key
ids (published out of band) passes them as `trusted_keyids`; keys outside that set are then
reported and not used.

Per-record checks dominate the cost (one Ed25519 verification each), so for large bundles
they run in worker processes (`audit.verify_pool`: fresh interpreters that import only the
line checks, started with fork and exec, so it is safe to call from threaded programs and
from any main module). The records file is read in blocks of whole lines; a worker checks a
block and summarises it (`audit.verify_block`), so that this process does per-block, not
per-record, work for the usual clean block, and falls back to the line-by-line outcomes
wherever anything is amiss.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
import zipfile
from collections import deque
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import BinaryIO, Final

from pydantic import ValidationError

from audit.chain import ChainChecker
from audit.content_verify import ContentChecker
from audit.errors import InvalidKeyError
from audit.keys import PublicKey
from audit.manifest import (
    KEYS_DIR,
    MANIFEST_NAME,
    RECORDS_PATH,
    Manifest,
    manifest_signers,
    render_manifest,
)
from audit.problems import Code, Problem, ProblemList, TooManyProblems, VerificationReport
from audit.verify_block import BlockChecker, BlockConfig, BlockResult, CleanRun
from audit.verify_facts import RecordFacts
from audit.verify_pool import WorkerError, WorkerPool, WorkerUnavailable
from audit.verify_tlog import TlogChecker

_BLOCK_BYTES: Final = 512 * 1024  # about 500 typical records: a short tail at the end
_PARALLEL_MIN_BYTES: Final = 4 * 1024 * 1024  # ~5k records: below this, workers cost more
_MAX_WORKERS: Final = 8
_WAITING_PER_WORKER: Final = 3  # blocks sent ahead to each worker


def verify_bundle(
    path: Path,
    *,
    trusted_keyids: Collection[str] | None = None,
    workers: int | None = None,
    trusted_checkpoint: bytes | str | None = None,
) -> VerificationReport:
    """Verify the bundle at `path`, a directory or a zip of one, and report every problem
    found (up to 50).

    `trusted_keyids`: if given, only bundle keys with these ids are accepted. `workers`:
    processes for the per-record checks; None picks one per CPU for large bundles, 1 checks
    in this process. `trusted_checkpoint`: a signed checkpoint of the log the auditor kept
    from before; the bundle's log must extend it (`audit.verify_tlog`).
    """
    path = Path(path)
    trusted = (
        trusted_checkpoint.encode() if isinstance(trusted_checkpoint, str) else (trusted_checkpoint)
    )
    if path.is_file() and zipfile.is_zipfile(path):
        with tempfile.TemporaryDirectory(prefix="proctor-bundle-") as unpacked:
            return _verify_archive(path, Path(unpacked), trusted_keyids, workers, trusted)
    return _verify(path, trusted_keyids, workers, [], trusted)


def _verify_archive(
    archive: Path,
    target: Path,
    trusted_keyids: Collection[str] | None,
    workers: int | None,
    trusted_checkpoint: bytes | None,
) -> VerificationReport:
    found: list[Problem] = []
    try:
        root = _unpack(archive, target, found)
    except (OSError, zipfile.BadZipFile, ValueError, RuntimeError) as exc:
        problem = f"{archive} is not a readable zip archive: {type(exc).__name__}: {exc}"
        return VerificationReport(0, 0, [Problem(Code.BUNDLE_MISSING.value, problem)])
    return _verify(root, trusted_keyids, workers, found, trusted_checkpoint)


def _unpack(archive: Path, target: Path, problems: list[Problem]) -> Path:
    """Extract the regular files of `archive` into `target`; return the bundle root.

    Only plain relative paths are extracted: a member that is absolute, climbs out with
    '..', is a link or appears twice is not part of a valid bundle and is reported as such.
    A zip of the bundle's folder (one top folder holding MANIFEST.json) is accepted too.
    """
    seen: set[str] = set()
    with zipfile.ZipFile(archive) as packed:
        for member in packed.infolist():
            name = member.filename
            if member.is_dir():
                continue
            parts = name.split("/")
            mode = member.external_attr >> 16
            unsafe = (
                name.startswith("/")
                or "\\" in name
                or any(part in ("", ".", "..") for part in parts)
                or stat.S_ISLNK(mode)
            )
            if unsafe or name in seen:
                why = "appears twice" if name in seen else "is not a plain file path"
                problems.append(
                    Problem(
                        Code.FILE_UNLISTED.value,
                        f"archive member {name!r} {why}; it is not part of a valid bundle",
                    )
                )
                continue
            seen.add(name)
            destination = target.joinpath(*parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            with packed.open(member) as source, destination.open("xb") as sink:
                while chunk := source.read(1 << 20):
                    sink.write(chunk)
    entries = list(target.iterdir())
    if (
        not (target / MANIFEST_NAME).exists()
        and len(entries) == 1
        and entries[0].is_dir()
        and (entries[0] / MANIFEST_NAME).is_file()
    ):
        return entries[0]
    return target


def _verify(
    path: Path,
    trusted_keyids: Collection[str] | None,
    workers: int | None,
    found: list[Problem],
    trusted_checkpoint: bytes | None = None,
) -> VerificationReport:
    run = _Verification(path, trusted_keyids, workers, trusted_checkpoint)
    run.problems.items.extend(found)
    truncated = False
    try:
        run.run()
    except TooManyProblems:
        truncated = True
    except Exception as exc:  # the verifier must report, never crash, whatever the input
        run.problems.items.append(
            Problem(Code.VERIFY_ERROR.value, f"verification stopped: {type(exc).__name__}: {exc}")
        )
    return run.report(truncated)


class _Verification:
    """The state of one verification run."""

    def __init__(
        self,
        root: Path,
        trusted_keyids: Collection[str] | None,
        workers: int | None,
        trusted_checkpoint: bytes | None = None,
    ) -> None:
        self.root = root
        self.trusted_checkpoint = trusted_checkpoint
        self.tlog: TlogChecker | None = None
        self.trusted = None if trusted_keyids is None else frozenset(trusted_keyids)
        self.workers = workers
        self.problems = ProblemList()
        self.keys: dict[str, PublicKey] = {}
        self.manifest: Manifest | None = None
        self.chain = ChainChecker(None, self.problems)
        self.content = ContentChecker(self.problems)
        self.pool: WorkerPool | None = None

    def run(self) -> None:
        if not self.root.is_dir():
            self.problems.add(Code.BUNDLE_MISSING, f"{self.root} is not a directory")
            return
        self.pool = self._start_workers()  # first: they start up while the rest is read
        try:
            self._run()
        finally:
            if self.pool is not None:
                self.pool.close()

    def _start_workers(self) -> WorkerPool | None:
        workers = self.workers
        if workers is None:
            try:
                size = (self.root / RECORDS_PATH).stat().st_size
            except OSError:
                return None  # reported when the records are checked
            big = size >= _PARALLEL_MIN_BYTES
            workers = min(os.cpu_count() or 1, _MAX_WORKERS) if big else 1
        if workers <= 1:
            return None
        try:
            return WorkerPool(workers)
        except WorkerUnavailable:
            return None  # checked in this process instead

    def _run(self) -> None:
        self.keys = self._load_keys()
        self.manifest = self._load_manifest()
        self.chain = ChainChecker(
            self.manifest.range.first_seq if self.manifest else None,
            self.problems,
            subset=self.manifest is not None and self.manifest.is_subset,
        )
        if self.manifest is not None:
            self.tlog = TlogChecker(
                self.root, self.problems, self.keys, self.manifest, self.trusted_checkpoint
            )
            self.tlog.load()
        self._check_files()
        self._check_records()
        self.content.check(self.root)
        self._check_totals()
        if self.tlog is not None:
            self.tlog.finish(self.chain.lines)

    def report(self, truncated: bool) -> VerificationReport:
        manifest = self.manifest
        return VerificationReport(
            records_checked=self.chain.lines,
            sessions=len(self.chain.session_counts),
            problems=list(self.problems.items),
            keyids=sorted(self.keys),
            first_seq=manifest.range.first_seq if manifest else self.chain.first_seq,
            last_seq=manifest.range.last_seq if manifest else self.chain.high,
            truncated=truncated,
        )

    # -- keys and manifest -------------------------------------------------------------

    def _load_keys(self) -> dict[str, PublicKey]:
        keys_dir = self.root / KEYS_DIR
        if not keys_dir.is_dir():
            self.problems.add(Code.FILE_MISSING, f"{KEYS_DIR}/ directory is missing")
            return {}
        keys: dict[str, PublicKey] = {}
        for entry in sorted(keys_dir.iterdir()):
            name = f"{KEYS_DIR}/{entry.name}"
            if entry.is_symlink() or not entry.is_file() or not entry.name.endswith(".json"):
                continue  # not a key file; reported as unlisted if the manifest omits it
            try:
                key = PublicKey.from_securesystemslib_dict(json.loads(entry.read_bytes()))
            except (OSError, ValueError, RecursionError, InvalidKeyError) as exc:
                self.problems.add(Code.KEY_MALFORMED, f"{name}: not a usable public key: {exc}")
                continue
            stem = entry.name.removesuffix(".json")
            if key.keyid != stem:
                self.problems.add(
                    Code.KEY_ID_MISMATCH, f"{name} holds key {key.keyid}, not key {stem}"
                )
                continue
            if self.trusted is not None and key.keyid not in self.trusted:
                self.problems.add(
                    Code.KEY_UNTRUSTED, f"{name}: key {key.keyid} is not one of the trusted keys"
                )
                continue
            keys[key.keyid] = key
        return keys

    def _load_manifest(self) -> Manifest | None:
        try:
            raw = (self.root / MANIFEST_NAME).read_bytes()
        except FileNotFoundError:
            self.problems.add(Code.MANIFEST_MISSING, f"{MANIFEST_NAME} is missing")
            return None
        except OSError as exc:
            self.problems.add(Code.MANIFEST_MALFORMED, f"{MANIFEST_NAME} is unreadable: {exc}")
            return None
        try:
            manifest = Manifest.model_validate_json(raw)
        except ValidationError as exc:
            details = "; ".join(
                f"{'.'.join(map(str, err['loc'])) or '(top)'}: {err['msg']}"
                for err in exc.errors()[:5]
            )
            self.problems.add(Code.MANIFEST_MALFORMED, f"{MANIFEST_NAME} is invalid: {details}")
            return None
        for inconsistency in manifest.inconsistencies():
            self.problems.add(Code.MANIFEST_MALFORMED, f"{MANIFEST_NAME}: {inconsistency}")
        if render_manifest(manifest) != raw:
            self.problems.add(
                Code.MANIFEST_FORMAT,
                f"{MANIFEST_NAME} differs from its one valid rendering (bytes were altered)",
            )
        verified, failures = manifest_signers(manifest, self.keys)
        if not verified:
            self.problems.add(
                Code.MANIFEST_SIGNATURE,
                f"{MANIFEST_NAME} has no valid signature by a bundle key: " + "; ".join(failures),
            )
        else:
            for failure in failures:
                self.problems.add(Code.MANIFEST_SIGNATURE, f"{MANIFEST_NAME}: {failure}")
        if RECORDS_PATH not in manifest.files:
            self.problems.add(
                Code.MANIFEST_MALFORMED, f"{MANIFEST_NAME} does not list {RECORDS_PATH}"
            )
        return manifest

    # -- files ---------------------------------------------------------------------------

    def _check_files(self) -> None:
        if self.manifest is None:
            return  # nothing to compare against; the missing manifest is already reported
        listed = self.manifest.files
        for name in sorted(set(_bundle_entries(self.root)) - set(listed)):
            self.problems.add(Code.FILE_UNLISTED, f"{name} is not listed in {MANIFEST_NAME}")
        for name, expected in sorted(listed.items()):
            if name == RECORDS_PATH:
                continue  # hashed while its lines are verified
            target = self.root / name
            if target.is_symlink() or not target.is_file():
                self.problems.add(
                    Code.FILE_MISSING, f"{name} is listed in {MANIFEST_NAME} but missing"
                )
                continue
            with target.open("rb") as handle:
                actual = hashlib.file_digest(handle, "sha256").hexdigest()
            if actual != expected:
                self.problems.add(
                    Code.FILE_HASH,
                    f"{name}: SHA-256 is {actual}, {MANIFEST_NAME} says {expected}",
                )

    # -- records -------------------------------------------------------------------------

    def _check_records(self) -> None:
        path = self.root / RECORDS_PATH
        if path.is_symlink() or not path.is_file():
            self.problems.add(Code.FILE_MISSING, f"{RECORDS_PATH} is missing")
            return
        tlog = self.tlog
        whole = tlog is not None and tlog.whole
        config = BlockConfig(
            keys={keyid: key.raw for keyid, key in self.keys.items()},
            # Summaries skip per-record work here; a subset bundle's chain and inclusion
            # proofs need every record.
            summarise=not self.chain.subset and (tlog is None or whole),
            leaves=tlog is not None and not whole,
            tree=whole,
            wanted=tlog.wanted if tlog is not None and whole else (),
        )
        by_line = config._replace(summarise=False, leaves=False, tree=False)
        self._line_by_line = BlockChecker(by_line)
        hasher = hashlib.sha256()
        with path.open("rb") as handle:
            for first, blob, result in self._checked(_blocks(handle, hasher.update), config):
                self._take(first, blob, result)
        expected = self.manifest.files.get(RECORDS_PATH) if self.manifest else None
        if expected is not None and hasher.hexdigest() != expected:
            self.problems.add(
                Code.FILE_HASH,
                f"{RECORDS_PATH}: SHA-256 is {hasher.hexdigest()}, {MANIFEST_NAME} says {expected}",
            )

    def _take(self, first: int, blob: bytes, result: BlockResult) -> None:
        """Feed one checked block, in file order, to the sequential checks."""
        tlog = self.tlog
        if tlog is not None:
            if tlog.whole:
                tlog.subtrees(result.subtrees, result.prefixes)
            else:
                tlog.leaves(result.leaves)
        if result.clean is not None and self.chain.feed_run(result.clean, result.lines):
            self._note_run(result.clean, result.lines)
            return
        outcomes = result.outcomes
        if outcomes is None:  # clean inside, but not where it joins: take it line by line
            outcomes = self._line_by_line.check(blob, first).outcomes
            assert outcomes is not None
        for outcome in outcomes:
            self.chain.feed(outcome)
            if tlog is not None:
                tlog.outcome(outcome, self.chain.lines)
            if isinstance(outcome, RecordFacts):
                self.content.note(outcome.seq, outcome.session_id, outcome.content)

    def _note_run(self, run: CleanRun, count: int) -> None:
        """`ContentChecker.note` for each record of a clean block, in order (the session
        id matters only for a record with content facts, which the run lists)."""
        content = self.content
        seq, end = run.first_seq, run.first_seq + count
        for offset, session_id, facts in run.content:
            content.note_plain(range(seq, run.first_seq + offset))
            content.note(run.first_seq + offset, session_id, facts)
            seq = run.first_seq + offset + 1
        content.note_plain(range(seq, end))

    def _checked(
        self, blocks: Iterator[tuple[int, bytes]], config: BlockConfig
    ) -> Iterator[tuple[int, bytes, BlockResult]]:
        """Each block checked, in order: by the workers if there are any."""
        local = BlockChecker(config)
        pool = self.pool
        if pool is None:
            for first, blob in blocks:
                yield first, blob, local.check(blob, first)
            return
        pool.configure(config)
        limit = _WAITING_PER_WORKER * pool.workers
        pending: deque[tuple[int, bytes, Future[BlockResult] | None]] = deque()
        for first, blob in blocks:
            try:
                future: Future[BlockResult] | None = pool.submit(first, blob)
            except WorkerUnavailable:
                future = None  # no worker left: this process checks it
            pending.append((first, blob, future))
            if len(pending) >= limit:
                yield _settled(pending.popleft(), local)
        while pending:
            yield _settled(pending.popleft(), local)

    def _check_totals(self) -> None:
        manifest = self.manifest
        if manifest is None:
            return
        span = manifest.range
        chain = self.chain
        if chain.lines != span.count:
            self.problems.add(
                Code.RANGE_MISMATCH,
                f"{MANIFEST_NAME} says {span.count} records (seq {span.first_seq}.."
                f"{span.last_seq}), {RECORDS_PATH} has {chain.lines} lines",
            )
        if chain.high is not None and chain.high != span.last_seq:
            self.problems.add(
                Code.RANGE_MISMATCH,
                f"{RECORDS_PATH} ends at seq {chain.high}, {MANIFEST_NAME} says {span.last_seq}",
                seq=chain.high,
            )
        counted = chain.session_counts
        for session in sorted(set(manifest.sessions) | set(counted)):
            claimed, found = manifest.sessions.get(session, 0), counted.get(session, 0)
            if claimed != found:
                self.problems.add(
                    Code.SESSIONS_MISMATCH,
                    f"session {session!r}: {MANIFEST_NAME} says {claimed} records, "
                    f"{RECORDS_PATH} has {found}",
                )


def _settled(
    entry: tuple[int, bytes, Future[BlockResult] | None], local: BlockChecker
) -> tuple[int, bytes, BlockResult]:
    """A submitted block's result; checked here if its worker could not (stopped, or
    raised: then this process meets the same error and reports it)."""
    first, blob, future = entry
    if future is not None:
        try:
            return first, blob, future.result()
        except (WorkerUnavailable, WorkerError):
            pass
    return first, blob, local.check(blob, first)


def _blocks(handle: BinaryIO, update: Callable[[bytes], object]) -> Iterator[tuple[int, bytes]]:
    """Blocks of whole lines of `handle` (about `_BLOCK_BYTES` each; the last may end
    without a newline), each with the number of lines before it, passing every byte read to
    `update` on the way."""
    before = 0
    carry: list[bytes] = []  # the start of a line that has not ended yet
    while data := handle.read(_BLOCK_BYTES):
        update(data)
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            carry.append(data)
            continue
        blob = b"".join([*carry, data[:cut]]) if carry else data[:cut]
        carry = [data[cut:]] if cut < len(data) else []
        yield before, blob
        before += blob.count(b"\n")
    if carry:
        yield before, b"".join(carry)


def _bundle_entries(root: Path) -> Iterator[str]:
    """Relative POSIX paths of every non-directory entry (and symlinked directory)."""
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(directory).relative_to(root)
        for name in filenames + [d for d in dirnames if (Path(directory) / d).is_symlink()]:
            relative = (base / name).as_posix()
            if relative != MANIFEST_NAME:
                yield relative
