"""The child process of `AuditWriterProcess`: an `AuditLog` that serves appends from a pipe.

Run as ``python -m audit.writer_main REQUESTS_FD REPLIES_FD`` by the parent only. Every
request that has arrived while the previous transaction was being written goes into the
next one (group commit), so a burst of appends costs one commit, as with `AuditLog` in one
process. When the parent goes away (its end of the pipe closes) the child exits.
"""

from __future__ import annotations

import sys
from multiprocessing.connection import Connection

from audit.keys import SigningKey
from audit.log import AuditLog
from audit.stores import open_record_store
from audit.writer_protocol import (
    TicketedOutcome,
    TicketedRequest,
    WriterFailed,
    WriterReady,
    WriterSettings,
)

MAX_BATCH = 256


def serve(requests: Connection, replies: Connection) -> int:
    """Open the log the parent's settings name, then write batches until told to stop."""
    settings = requests.recv()
    if not isinstance(settings, WriterSettings):
        replies.send(WriterFailed(f"expected writer settings, got {type(settings).__name__}"))
        return 2
    try:
        store = open_record_store(settings.location)
        key = SigningKey.load_or_create(settings.key_path)
        log = AuditLog(
            store, key, origin=settings.origin, checkpoint_every=settings.checkpoint_every
        )
    except Exception as exc:  # reported to the parent, which raises it where it started us
        replies.send(WriterFailed(f"{type(exc).__name__}: {exc}"))
        return 1
    replies.send(WriterReady(key.public_key.raw))
    try:
        stopping = False
        while not stopping:
            batch, stopping = _next_batch(requests)
            if batch:
                outcomes = log.write_together([request for _, request in batch])
                answer: list[TicketedOutcome] = [
                    (ticket, outcome) for (ticket, _), outcome in zip(batch, outcomes, strict=True)
                ]
                replies.send(answer)
    finally:
        store.close()
    return 0


def _next_batch(requests: Connection) -> tuple[list[TicketedRequest], bool]:
    """The requests waiting now (blocking for the first), and whether the parent is done
    (it sent ``None`` or closed its end): what came before that is still written."""
    batch: list[TicketedRequest] = []
    while len(batch) < MAX_BATCH and (not batch or requests.poll(0)):
        try:
            received = requests.recv()
        except EOFError:
            return batch, True
        if received is None:
            return batch, True
        batch.extend(received)
    return batch, False


def main() -> int:
    requests = Connection(int(sys.argv[1]), writable=False)
    replies = Connection(int(sys.argv[2]), readable=False)
    try:
        return serve(requests, replies)
    except (BrokenPipeError, EOFError):
        return 0  # the parent went away; nothing is waiting for an answer


if __name__ == "__main__":
    sys.exit(main())
