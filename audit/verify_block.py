"""Checking a block of record lines, as the verifier's worker processes do it.

`audit.linecheck.check_line` is the definition of a valid record line. Most of its cost
that is not the Ed25519 verification goes into generality: a dict for the envelope, a
regular expression over it, base64 decoding of ``str`` values, a PAE built field by field.
`BlockChecker` reads lines of the one layout this project writes directly, and gives
exactly `check_line`'s facts for them (the argument is below); every other line, and every
line that fails any check, is handed to `check_line` itself, so refusals and their messages
are always the general path's.

The fast layout is the one `audit.envelope_line` proves canonical, with one signature and
the record payload type::

    {"payload":"P","payloadType":"<RECORD_PAYLOAD_TYPE>","signatures":[{"keyid":"K","sig":"S"}]}

P and S are accepted only when decoding succeeds and re-encoding gives them back
(`audit.b64.decode_canonical`), so they consist of base64 characters (printable, no
quote or backslash); K is a trusted key id (hex). Such a line is therefore what
`plain_envelope` matches, the payload type is the expected one, and the single signature
is checked over the same PAE bytes with libsodium's verdict (`audit.ed25519_fast`, which
asks ed25519-dalek first where the two provably agree). The payload goes
through `plain_payload` as in `check_line`; content facts are computed by `content_facts`
unless the record cannot hold a sealed reference (its payload has no backslash, so every
JSON string is spelt literally, and no ``$``, so no ``"$content"`` key) and is not an
erasure event.

The block is also summarised, so that the main process need not look at every record:
its Merkle subtrees (`audit.merkle_blocks`) and, when every line is valid, seq runs on
without a gap and each session's records inside the block link up, a `CleanRun`: per
session the first and last record's chain fields. The main process checks only where
the block joins what came before (`audit.chain.ChainChecker.feed_run`). Any other block
comes back line by line, as `check_line` outcomes.

This module imports only what the fast path needs (the Ed25519 bindings, pydantic-core's
JSON parser); the general check is imported on first use.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from audit.b64 import decode_canonical
from audit.ed25519_fast import Verifier, key_verifier
from audit.merkle_blocks import Node, aligned_nodes
from audit.payload_fast import plain_payload
from audit.verify_facts import LineFailure, LineOutcome, RecordFacts

if TYPE_CHECKING:
    from audit.content_verify import ContentFacts
    from audit.keys import PublicKey

RECORD_TYPE: Final = "application/vnd.proctor.record+json"  # = audit.records.RECORD_PAYLOAD_TYPE
ERASED_TYPE: Final = "content.erased"  # = audit.content_log.ERASED_EVENT

_PREFIX: Final = b'{"payload":"'
_MIDDLE: Final = b'","payloadType":"' + RECORD_TYPE.encode() + b'","signatures":[{"keyid":"'
_SIG: Final = b'","sig":"'
_END: Final = b'"}]}'
_PAE_HEAD: Final = b"DSSEv1 %d %b " % (len(RECORD_TYPE), RECORD_TYPE.encode())
_SIGNATURE_BYTES: Final = 64


class BlockConfig(NamedTuple):
    """What a block check needs besides the lines; sent to each worker once."""

    keys: dict[str, bytes]  # trusted key id -> raw Ed25519 public key
    summarise: bool  # a clean block may come back as a CleanRun instead of outcomes
    leaves: bool  # return the leaf hashes (inclusion proofs need them one by one)
    tree: bool  # return aligned subtrees and the nodes up to each wanted size
    wanted: tuple[int, ...] = ()  # tree sizes whose roots the tlog checks need


class SessionRun(NamedTuple):
    """One session's records inside a clean block: where its chain enters and leaves."""

    session_id: str
    records: int
    first_session_seq: int
    first_prev: str | None
    last_session_seq: int
    last_digest: str
    last_offset: int  # line of its last record, counted from 0 within the block


class CleanRun(NamedTuple):
    """A block whose lines are all valid, with seq first_seq, first_seq + 1, ... and each
    session's records in it linked; sessions in order of first appearance."""

    first_seq: int
    sessions: tuple[SessionRun, ...]
    content: tuple[tuple[int, str, ContentFacts], ...]  # (offset, session, facts) where any


class _SignedLine(NamedTuple):
    verify: Verifier  # for the line's key
    signature: bytes
    message: bytes  # the PAE bytes the signature covers
    payload: bytes


class BlockResult(NamedTuple):
    lines: int
    leaves: bytes  # 32 bytes per line if asked for, else empty
    subtrees: tuple[Node, ...]  # aligned subtrees covering the block, if asked for
    prefixes: dict[int, tuple[Node, ...]]  # wanted size in the block -> nodes up to it
    clean: CleanRun | None
    outcomes: list[LineOutcome] | None  # line by line, when there is no clean run


class BlockChecker:
    """Checks blocks of records.jsonl under one configuration."""

    def __init__(self, config: BlockConfig) -> None:
        self.config = config
        self._verifiers: dict[bytes, Verifier] = {
            keyid.encode("ascii"): key_verifier(raw) for keyid, raw in config.keys.items()
        }
        self._trusted: dict[str, PublicKey] | None = None

    def check(self, blob: bytes, first: int) -> BlockResult:
        """Check the lines in `blob` (whole lines; only the file's last may lack its
        newline), which are lines ``first + 1 ..`` of the file (``first`` lines precede)."""
        config = self.config
        bodies = blob.split(b"\n")
        unterminated = bodies.pop()  # b"" when the blob ends with a newline
        # Three passes rather than one per line: the signature checks then run back to
        # back, and Ed25519's tables stay in the CPU's caches between them.
        parsed = [self._signed_line(body) for body in bodies]
        verified = [
            line is not None and line.verify(line.signature, line.message) for line in parsed
        ]
        facts = self._facts
        general = self._general
        outcomes: list[LineOutcome] = []
        append = outcomes.append
        for body, line, valid in zip(bodies, parsed, verified, strict=True):
            found = facts(body, line.payload) if valid and line is not None else None
            append(found if found is not None else general(body + b"\n"))
        if unterminated:
            append(self._general(unterminated))
            bodies.append(unterminated)
        leaves: list[bytes] = []
        if config.leaves or config.tree:
            sha256 = hashlib.sha256
            leaves = [sha256(b"\x00" + body).digest() for body in bodies]
        subtrees: tuple[Node, ...] = ()
        prefixes: dict[int, tuple[Node, ...]] = {}
        if config.tree:
            subtrees = tuple(aligned_nodes(first, leaves))
            end = first + len(leaves)
            for size in config.wanted:
                if first < size < end:
                    prefixes[size] = tuple(aligned_nodes(first, leaves[: size - first]))
                elif size == end:
                    prefixes[size] = subtrees
        clean = _clean_run(outcomes) if config.summarise else None
        return BlockResult(
            lines=len(outcomes),
            leaves=b"".join(leaves) if config.leaves else b"",
            subtrees=subtrees,
            prefixes=prefixes,
            clean=clean,
            outcomes=None if clean is not None else outcomes,
        )

    def _signed_line(self, body: bytes) -> _SignedLine | None:
        """A line of the usual layout taken apart for its signature check; None for "ask
        `check_line`" (another layout, or base64 that is not canonical)."""
        if not body.startswith(_PREFIX):
            return None
        end = body.find(b'"', len(_PREFIX))
        if end < 0 or not body.startswith(_MIDDLE, end):
            return None
        key_start = end + len(_MIDDLE)
        key_end = body.find(b'"', key_start)
        if key_end < 0:
            return None
        verify = self._verifiers.get(body[key_start:key_end])
        if verify is None or not body.startswith(_SIG, key_end):
            return None
        sig_start = key_end + len(_SIG)
        sig_end = body.find(b'"', sig_start)
        if sig_end < 0 or len(body) != sig_end + len(_END) or not body.endswith(_END):
            return None
        payload = decode_canonical(body[len(_PREFIX) : end])
        signature = decode_canonical(body[sig_start:sig_end])
        if payload is None or signature is None or len(signature) != _SIGNATURE_BYTES:
            return None
        message = b"%b%d %b" % (_PAE_HEAD, len(payload), payload)
        return _SignedLine(verify, signature, message, payload)

    def _facts(self, body: bytes, payload: bytes) -> RecordFacts | None:
        """`check_line`'s facts for a line of the usual layout whose signature holds;
        None for "ask `check_line`"."""
        fields = plain_payload(payload)
        if fields is None:
            return None
        content = None
        if b"\\" in payload or b"$" in payload or fields.event.get("type") == ERASED_TYPE:
            content = _content_facts(fields.event)
        return RecordFacts(
            fields.seq,
            fields.session_id,
            fields.session_seq,
            fields.prev,
            hashlib.sha256(body).hexdigest(),
            content,
        )

    def _general(self, line: bytes) -> LineOutcome:
        """`check_line` itself (imported on first use: most blocks never need it)."""
        from audit.keys import PublicKey
        from audit.linecheck import check_line

        if self._trusted is None:
            self._trusted = {keyid: PublicKey(raw) for keyid, raw in self.config.keys.items()}
        return check_line(line, self._trusted)


def _content_facts(event: Mapping[str, Any]) -> ContentFacts | None:
    from audit.content_verify import content_facts

    return content_facts(event)


def _clean_run(outcomes: list[LineOutcome]) -> CleanRun | None:
    """The block's CleanRun, or None if any line failed, seq skips or a session's records
    inside the block do not link (the chain checks then take it line by line)."""
    if not outcomes:
        return None
    runs: dict[str, list[Any]] = {}
    content: list[tuple[int, str, ContentFacts]] = []
    expected = None
    for offset, outcome in enumerate(outcomes):
        if type(outcome) is not RecordFacts:
            return None
        seq, session_id, session_seq, prev, digest, facts = outcome
        if expected is not None and seq != expected:
            return None
        expected = seq + 1
        run = runs.get(session_id)
        if run is None:
            runs[session_id] = [session_id, 1, session_seq, prev, session_seq, digest, offset]
        elif session_seq != run[4] + 1 or prev != run[5]:
            return None
        else:
            run[1] += 1
            run[4] = session_seq
            run[5] = digest
            run[6] = offset
        if facts is not None:
            content.append((offset, session_id, facts))
    first = outcomes[0]
    assert isinstance(first, RecordFacts)
    return CleanRun(first.seq, tuple(SessionRun(*run) for run in runs.values()), tuple(content))


__all__ = [
    "BlockChecker",
    "BlockConfig",
    "BlockResult",
    "CleanRun",
    "LineFailure",
    "SessionRun",
]
