"""Writer process for the crash test: appends under load and reports each acknowledged record.

Run as ``python -m tests.audit._crash_writer LOCATION KEY_FILE RUN``. Several threads share
one `AuditLog`, so group commit forms batches of their appends. Every event seals a text
(`audit.content`), so each append also writes content rows in the records' transaction. A
thread writes one line
per record to stdout (a pipe) only after `append` returned, i.e. after the log said the
record is durable::

    ack <seq> <session_id> <session_seq> <digest>

and ``fail <message>`` if an append was refused. Each line goes out in one ``os.write`` of
less than PIPE_BUF bytes, so a SIGKILL leaves whole lines and at most nothing of the line
being written; the test ignores a last line without its newline. The process runs until it
is killed (or for `_MAX_SECONDS`, so a lost test cannot leave it behind forever).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Final

from audit import AuditLog, AuditWriteError, ContentChange, SigningKey
from audit.content import reference, seal
from tests.audit._concurrent_writer import open_patient
from tests.audit.helpers import POLICY

THREADS: Final = 6
_MAX_SECONDS: Final = 60.0


def _say(text: str) -> None:
    os.write(1, (text + "\n").encode("utf-8"))


def _append_forever(log: AuditLog, run: str, thread: int, deadline: float) -> None:
    """Append batches of 1..3 events to this thread's session and to a shared one."""
    n = 0
    while time.monotonic() < deadline:
        session = f"thread-{thread}" if n % 4 else "shared"
        size = 1 + n % 3
        sealed = [seal(f"words {run} {thread} {n} {i}") for i in range(size)]
        batch = [
            {
                "type": "crash.test",
                "run": run,
                "thread": thread,
                "n": n,
                "i": i,
                "text": reference(s.commitment),
            }
            for i, s in enumerate(sealed)
        ]
        n += 1
        try:
            appended = log.append(
                session, POLICY, batch, content=ContentChange(sealed=tuple(sealed))
            )
        except AuditWriteError as exc:
            _say(f"fail {exc}".replace("\n", " ")[:400])
            continue
        for record in appended:
            _say(f"ack {record.seq} {session} {record.session_seq} {record.digest}")


def main(argv: list[str]) -> int:
    location, key_file, run = argv
    key = SigningKey.load_or_create(Path(key_file))
    deadline = time.monotonic() + _MAX_SECONDS
    with open_patient(location) as store:
        log = AuditLog(store, key)
        _say("ready")
        threads = [
            threading.Thread(target=_append_forever, args=(log, run, t, deadline), daemon=True)
            for t in range(THREADS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
