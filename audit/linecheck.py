"""Per-line record checks, independent of every other line.

Checking a line (canonical form, envelope, signature, payload) is the expensive part of
verification and needs nothing but the line and the keys, so it is kept apart from the
sequential chain checks: the verifier can then run it in worker processes. Everything here
is a plain function over picklable values for that reason (named tuples, which cross a
process boundary several times faster than dataclasses).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from audit.content_verify import content_facts
from audit.errors import RecordError
from audit.keys import PublicKey
from audit.merkle import leaf_hash
from audit.payload_fast import plain_payload
from audit.records import record_digest, validate_payload, verified_payload
from audit.verify_facts import LineFailure, LineOutcome, RecordFacts

__all__ = [
    "CheckedChunk",
    "LineFailure",
    "LineOutcome",
    "RecordFacts",
    "check_chunk",
    "check_chunk_raw",
    "check_line",
]


def check_line(line: bytes, trusted: Mapping[str, PublicKey]) -> LineOutcome:
    """Check one line of records.jsonl, including its terminating newline."""
    if not line.endswith(b"\n"):
        return _failure("malformed", "line is not terminated by a newline", line)
    body = line[:-1]
    if not body:
        return LineFailure("malformed", "empty line")
    try:
        raw = verified_payload(body, trusted)
        # The usual payload without the model (provably the same verdict and values, see
        # audit.payload_fast); anything else, and every refusal, is the model's.
        payload = plain_payload(raw) or validate_payload(raw)
    except RecordError as exc:
        return _failure(exc.reason, str(exc), body)
    return RecordFacts(
        seq=payload.seq,
        session_id=payload.session_id,
        session_seq=payload.session_seq,
        prev=payload.prev,
        digest=record_digest(body),
        content=content_facts(payload.event),
    )


class CheckedChunk(NamedTuple):
    """The outcomes of a chunk of lines and their Merkle leaf hashes (32 bytes per line, in
    order, valid or not: the tree covers the file as it is)."""

    outcomes: list[LineOutcome]
    leaves: bytes


def check_chunk(lines: Sequence[bytes], trusted: Mapping[str, PublicKey]) -> CheckedChunk:
    """`check_line` over a chunk, with the lines' leaf hashes.

    The leaf hashes are computed here rather than by the reader so that, with worker
    processes, they are spread over the workers too (one SHA-256 per line).
    """
    outcomes = [check_line(line, trusted) for line in lines]
    leaves = b"".join(leaf_hash(line[:-1] if line.endswith(b"\n") else line) for line in lines)
    return CheckedChunk(outcomes, leaves)


def check_chunk_raw(lines: Sequence[bytes], trusted_raw: Mapping[str, bytes]) -> CheckedChunk:
    """`check_chunk` with keys as raw bytes, so that the call can cross processes."""
    return check_chunk(lines, {keyid: PublicKey(raw) for keyid, raw in trusted_raw.items()})


def _failure(reason: str, message: str, body: bytes) -> LineFailure:
    """A failure carrying the position the line claims, if its payload can be read at all."""
    seq = session_id = session_seq = None
    try:
        envelope = json.loads(body)
        claimed = json.loads(base64.b64decode(envelope["payload"]))
        if isinstance(claimed, dict):
            seq = _int_or_none(claimed.get("seq"))
            session_seq = _int_or_none(claimed.get("session_seq"))
            raw_session = claimed.get("session_id")
            session_id = raw_session if isinstance(raw_session, str) else None
    except (ValueError, TypeError, KeyError, RecursionError):
        pass  # nothing readable: the failure stands without a claimed position
    return LineFailure(reason, message, seq, session_id, session_seq)


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
