"""What the bundle verifier reports: problems with stable codes, and the overall verdict.

Codes are part of the interface: scripts and the CLI branch on them, so a code is never
renamed or reused for a different fault. Messages are for people and name the line and
seq involved.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import IntEnum, StrEnum
from typing import Any, Final

MAX_PROBLEMS: Final = 50


class Code(StrEnum):
    """Stable problem codes."""

    BUNDLE_MISSING = "bundle-missing"  # the path is not a directory
    MANIFEST_MISSING = "manifest-missing"
    MANIFEST_MALFORMED = "manifest-malformed"  # not JSON / wrong fields or values
    MANIFEST_FORMAT = "manifest-format"  # bytes differ from the format's one rendering
    MANIFEST_SIGNATURE = "manifest-signature"  # no valid signature by a bundle key
    KEY_MALFORMED = "key-malformed"
    KEY_ID_MISMATCH = "key-id-mismatch"  # keys/<name>.json is not the key named <name>
    KEY_UNTRUSTED = "key-untrusted"  # key not among the keys the caller trusts
    FILE_MISSING = "file-missing"
    FILE_HASH = "file-hash"
    FILE_UNLISTED = "file-unlisted"
    RECORD_MALFORMED = "record-malformed"
    RECORD_NOT_CANONICAL = "record-not-canonical"
    RECORD_PAYLOAD_TYPE = "record-payload-type"
    RECORD_UNKNOWN_KEY = "record-unknown-key"
    RECORD_SIGNATURE = "record-signature"
    SEQ_GAP = "seq-gap"  # missing, duplicated or reordered records
    SESSION_CHAIN = "session-chain"  # session_seq or prev does not continue the session
    RANGE_MISMATCH = "range-mismatch"  # record count / seq range differ from the manifest
    SESSIONS_MISMATCH = "sessions-mismatch"  # per-session counts differ from the manifest
    VERIFY_ERROR = "verify-error"  # the verifier itself failed (reported, never raised)
    # The transparency log (`audit.verify_tlog`): checkpoints, proofs, a trusted checkpoint.
    CHECKPOINT_MISSING = "checkpoint-missing"  # no usable checkpoint ties records to the log
    CHECKPOINT_MALFORMED = "checkpoint-malformed"  # not a checkpoint note of the bundle's origin
    CHECKPOINT_SIGNATURE = "checkpoint-signature"  # not (validly) signed by a bundle key
    CHECKPOINT_MISMATCH = "checkpoint-mismatch"  # records do not give the root it signs
    CHECKPOINT_FORK = "checkpoint-fork"  # two roots for one tree size
    CHECKPOINT_ROLLBACK = "checkpoint-rollback"  # the log is smaller than the trusted checkpoint
    CHECKPOINT_INCONSISTENT = "checkpoint-inconsistent"  # does not extend the trusted checkpoint
    PROOF_MISSING = "proof-missing"  # an inclusion or consistency proof the bundle needs
    PROOF_INVALID = "proof-invalid"  # a proof file is malformed or does not verify
    TRUSTED_CHECKPOINT_INVALID = "trusted-checkpoint-invalid"  # the auditor's checkpoint
    CONTENT_MALFORMED = "content-malformed"  # a content/ line or sealed reference is garbled
    CONTENT_MISMATCH = "content-mismatch"  # sealed text does not fit its commitment or record
    CONTENT_MISSING = "content-missing"  # sealed text absent and not (validly) declared erased


class ExitStatus(IntEnum):
    """`proctor audit verify`'s exit status: one per class of failure, stable like the codes.

    A report with problems of several classes exits with the first class in `_PRECEDENCE`:
    altered records first (a bundle tampered with after export also breaks its tree and
    any comparison with a trusted checkpoint; the records say what happened), then a
    rewritten history (an internally perfect bundle whose log does not extend the trusted
    checkpoint), the log's own evidence, keys, the bundle's files, an unusable trusted
    checkpoint, and the verifier's own failure. 2 is left to argparse (usage errors).
    """

    OK = 0
    RECORDS = 1  # records altered, missing, duplicated, reordered, forged, chains cut
    BUNDLE = 3  # not a bundle, manifest missing/altered/unsigned, files missing/altered/added
    KEYS = 4  # a key file malformed, misnamed or not among the trusted keys
    LOG = 5  # checkpoints or proofs missing, unsigned, or not matching the records
    HISTORY = 6  # the log forked, rolled back or rewrote what the trusted checkpoint saw
    TRUSTED_CHECKPOINT = 7  # the auditor's checkpoint is unusable with this bundle
    ERROR = 8  # the verifier itself failed


_CLASSES: Final[dict[str, ExitStatus]] = {
    **{c: ExitStatus.BUNDLE for c in ("bundle-missing", "manifest-missing", "manifest-malformed")},
    **{c: ExitStatus.BUNDLE for c in ("manifest-format", "manifest-signature")},
    **{c: ExitStatus.BUNDLE for c in ("file-missing", "file-hash", "file-unlisted")},
    **{c: ExitStatus.KEYS for c in ("key-malformed", "key-id-mismatch", "key-untrusted")},
    **{c: ExitStatus.LOG for c in ("checkpoint-missing", "checkpoint-malformed")},
    **{c: ExitStatus.LOG for c in ("checkpoint-signature", "checkpoint-mismatch")},
    **{c: ExitStatus.LOG for c in ("proof-missing", "proof-invalid")},
    **{c: ExitStatus.HISTORY for c in ("checkpoint-fork", "checkpoint-rollback")},
    "checkpoint-inconsistent": ExitStatus.HISTORY,
    "trusted-checkpoint-invalid": ExitStatus.TRUSTED_CHECKPOINT,
    "verify-error": ExitStatus.ERROR,
}
_PRECEDENCE: Final = (
    ExitStatus.RECORDS,
    ExitStatus.HISTORY,
    ExitStatus.LOG,
    ExitStatus.KEYS,
    ExitStatus.BUNDLE,
    ExitStatus.TRUSTED_CHECKPOINT,
    ExitStatus.ERROR,
)


def failure_class(code: str) -> ExitStatus:
    """The class of a problem code; record-level and any other evidence codes are RECORDS."""
    return _CLASSES.get(code, ExitStatus.RECORDS)


def exit_status(codes: Iterable[str]) -> ExitStatus:
    """The exit status for a report with these problem codes (OK if there are none)."""
    classes = {failure_class(code) for code in codes}
    return next((status for status in _PRECEDENCE if status in classes), ExitStatus.OK)


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason the bundle is not valid evidence."""

    code: str
    message: str
    seq: int | None = None
    line: int | None = None  # 1-based line of log/records.jsonl

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """The verdict on one bundle. `ok` is true exactly when no problem was found."""

    records_checked: int
    sessions: int
    problems: list[Problem]
    keyids: list[str] = field(default_factory=list)  # bundle keys that were usable
    first_seq: int | None = None
    last_seq: int | None = None
    truncated: bool = False  # stopped after MAX_PROBLEMS problems

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def exit_status(self) -> ExitStatus:
        """What `proctor audit verify` exits with for this report."""
        return exit_status(problem.code for problem in self.problems)

    def to_json(self) -> dict[str, Any]:
        """The report as plain JSON, for `proctor audit verify --json`."""
        return {"ok": self.ok, "exit_status": int(self.exit_status)} | asdict(self)


class TooManyProblems(Exception):
    """Raised by `ProblemList.add` at the limit, to stop verifying a hopeless bundle."""


class ProblemList:
    """Collects problems up to a limit; reaching the limit stops the verification."""

    def __init__(self, limit: int = MAX_PROBLEMS) -> None:
        self.items: list[Problem] = []
        self._limit = limit

    def add(
        self, code: Code, message: str, *, seq: int | None = None, line: int | None = None
    ) -> None:
        self.items.append(Problem(code=code.value, message=message, seq=seq, line=line))
        if len(self.items) >= self._limit:
            raise TooManyProblems

    def codes(self) -> set[str]:
        return {problem.code for problem in self.items}
