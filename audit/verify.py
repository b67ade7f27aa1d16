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
they run in worker processes (spawned, so it is safe to call from threaded programs; as with
any use of multiprocessing, call it from a program whose main module is import-safe).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import stat
import tempfile
import zipfile
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import BinaryIO, Final

from pydantic import ValidationError

from audit.chain import ChainChecker
from audit.content_verify import ContentChecker
from audit.errors import InvalidKeyError
from audit.keys import PublicKey
from audit.linecheck import CheckedChunk, RecordFacts, check_chunk, check_chunk_raw
from audit.manifest import (
    KEYS_DIR,
    MANIFEST_NAME,
    RECORDS_PATH,
    Manifest,
    manifest_signers,
    render_manifest,
)
from audit.problems import Code, Problem, ProblemList, TooManyProblems, VerificationReport
from audit.verify_tlog import TlogChecker

_CHUNK_BYTES: Final = 2 * 1024 * 1024  # about 2,000 typical records per chunk
_PARALLEL_MIN_BYTES: Final = 4 * 1024 * 1024  # ~5k records: below this, workers cost more
_MAX_WORKERS: Final = 8


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

    def run(self) -> None:
        if not self.root.is_dir():
            self.problems.add(Code.BUNDLE_MISSING, f"{self.root} is not a directory")
            return
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
        hasher = hashlib.sha256()
        tlog = self.tlog
        with path.open("rb") as handle:
            chunks = _hashed_chunks(handle, hasher.update)
            for checked in self._checked(chunks, path.stat().st_size):
                if tlog is not None:
                    tlog.leaves(checked.leaves)
                for outcome in checked.outcomes:
                    self.chain.feed(outcome)
                    if tlog is not None:
                        tlog.outcome(outcome, self.chain.lines)
                    if isinstance(outcome, RecordFacts):
                        self.content.note(outcome.seq, outcome.session_id, outcome.content)
        expected = self.manifest.files.get(RECORDS_PATH) if self.manifest else None
        if expected is not None and hasher.hexdigest() != expected:
            self.problems.add(
                Code.FILE_HASH,
                f"{RECORDS_PATH}: SHA-256 is {hasher.hexdigest()}, {MANIFEST_NAME} says {expected}",
            )

    def _checked(self, chunks: Iterable[list[bytes]], size: int) -> Iterator[CheckedChunk]:
        """Each chunk checked, in order: in worker processes for a large file."""
        workers = self.workers
        if workers is None:
            workers = min(os.cpu_count() or 1, _MAX_WORKERS) if size >= _PARALLEL_MIN_BYTES else 1
        if workers <= 1:
            for chunk in chunks:
                yield check_chunk(chunk, self.keys)
            return
        keys_raw = {keyid: key.raw for keyid, key in self.keys.items()}
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn")
        )
        pending: deque[tuple[list[bytes], Future[CheckedChunk]]] = deque()
        remaining = iter(chunks)
        try:
            for chunk in remaining:
                pending.append((chunk, pool.submit(check_chunk_raw, chunk, keys_raw)))
                if len(pending) >= 2 * workers:
                    yield pending[0][1].result()
                    pending.popleft()
            while pending:
                yield pending[0][1].result()
                pending.popleft()
        except BrokenProcessPool:
            # Workers could not start (e.g. a main module that cannot be re-imported, as in
            # an interactive session): check what is left in this process instead.
            for chunk, _ in pending:
                yield check_chunk(chunk, self.keys)
            for chunk in remaining:
                yield check_chunk(chunk, self.keys)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

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


def _hashed_chunks(handle: BinaryIO, update: Callable[[bytes], object]) -> Iterator[list[bytes]]:
    """Lines of `handle` in chunks of about `_CHUNK_BYTES`, passing every byte read to
    `update` on the way (once per chunk: per line, the calls cost more than the hashing)."""
    while chunk := handle.readlines(_CHUNK_BYTES):
        update(b"".join(chunk))
        yield chunk


def _bundle_entries(root: Path) -> Iterator[str]:
    """Relative POSIX paths of every non-directory entry (and symlinked directory)."""
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(directory).relative_to(root)
        for name in filenames + [d for d in dirnames if (Path(directory) / d).is_symlink()]:
            relative = (base / name).as_posix()
            if relative != MANIFEST_NAME:
                yield relative
