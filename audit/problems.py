"""What the bundle verifier reports: problems with stable codes, and the overall verdict.

Codes are part of the interface: scripts and the CLI branch on them, so a code is never
renamed or reused for a different fault. Messages are for people and name the line and
seq involved.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
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
    CONTENT_MALFORMED = "content-malformed"  # a content/ line or sealed reference is garbled
    CONTENT_MISMATCH = "content-mismatch"  # sealed text does not fit its commitment or record
    CONTENT_MISSING = "content-missing"  # sealed text absent and not (validly) declared erased


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

    def to_json(self) -> dict[str, Any]:
        """The report as plain JSON, for `proctor audit verify --json`."""
        return {"ok": self.ok} | asdict(self)


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
