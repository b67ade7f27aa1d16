"""The verifier's worker process: checks blocks of record lines sent over its stdin.

Started by `audit.verify_pool` as a fresh interpreter that imports this module and nothing
of the program that started it (multiprocessing's spawn would re-import the parent's main
module, for ``proctor`` the whole CLI, in every worker: most of a second per worker), and
this module imports only `audit.verify_block`'s fast path.

The protocol is frames (an 8-byte little-endian length, then the body) in both
directions. To the worker: first a pickled `BlockConfig`, then per block a frame whose
body is the 8-byte number of lines before the block followed by the block's bytes as they
are (no pickling: a block is half a megabyte). Each block is answered, in order, by a
pickled ``(BlockResult, None)``, or ``(None, error text)`` if checking it raised. End of
input ends the process. Only the verifier's own process writes to this pipe, so unpickling
what it sends is safe.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import struct
import sys
from typing import IO, Final

from audit.verify_block import BlockChecker, BlockConfig

HEADER: Final = struct.Struct("<Q")


def read_frame(stream: IO[bytes]) -> bytes | None:
    """The next frame's bytes, or None at a clean end of input."""
    header = stream.read(HEADER.size)
    if not header:
        return None
    if len(header) != HEADER.size:
        raise EOFError("input ended inside a frame header")
    (length,) = HEADER.unpack(header)
    body = stream.read(length)
    if len(body) != length:
        raise EOFError("input ended inside a frame")
    return body


def frame(value: object) -> bytes:
    body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


def block_frame(first: int, blob: bytes) -> tuple[bytes, bytes]:
    """A block's frame as its head and the block itself (written one after the other, so
    the block is not copied into a frame)."""
    return HEADER.pack(HEADER.size + len(blob)) + HEADER.pack(first), blob


def serve(source: IO[bytes], sink: IO[bytes]) -> None:
    """Answer blocks from `source` on `sink` until `source` ends."""
    raw = read_frame(source)
    if raw is None:
        return
    config = pickle.loads(raw)
    if not isinstance(config, BlockConfig):
        raise TypeError(f"expected a BlockConfig first, got {type(config).__name__}")
    checker = BlockChecker(config)
    while (raw := read_frame(source)) is not None:
        (first,) = HEADER.unpack_from(raw)
        blob = raw[HEADER.size :]
        try:
            reply: tuple[object, str | None] = (checker.check(blob, first), None)
        except Exception as exc:  # reported to the parent, which checks the block itself
            reply = (None, f"{type(exc).__name__}: {exc}")
        sink.write(frame(reply))
        sink.flush()


def main() -> None:
    # The protocol owns fds 0 and 1; anything printed by accident goes to stderr instead.
    source = os.fdopen(os.dup(0), "rb")
    sink = os.fdopen(os.dup(1), "wb")
    sys.stdout = sys.stderr
    # The verifier went away or stopped early: nothing is left to answer.
    with contextlib.suppress(BrokenPipeError, EOFError, KeyboardInterrupt):
        serve(source, sink)


if __name__ == "__main__":
    main()
