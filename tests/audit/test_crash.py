"""Crash safety: a writer killed with SIGKILL at random moments loses nothing it acknowledged.

A writer process (`tests.audit._crash_writer`) appends signed records from several threads,
so group commit batches form, and reports each record only after `AuditLog.append` returned.
The test kills it with SIGKILL at seeded random moments, restarts it on the same store, and
finally checks what a crash must never break: the log is gap-free, every acknowledged
record is stored with the very bytes it was acknowledged with (its digest), the session
chains continue across the crashes, the text each record seals was committed with it (no
record without its content, no content without its record), and an exported bundle
verifies.

On SQLite a SIGKILL tests WAL recovery and the atomicity of a transaction, not fsync (the
operating system keeps the killed process's writes); on PostgreSQL it tests that the server
rolls back the transaction of a client that vanished mid-batch and releases its lock.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest

from audit import SigningKey, decode_record, export_bundle, open_record_store, verify_bundle
from audit.records import record_digest

REPO = Path(__file__).resolve().parents[2]
ROUNDS = 5
SEED = 20261203


@dataclass(frozen=True, slots=True)
class Ack:
    seq: int
    session_id: str
    session_seq: int
    digest: str


@dataclass
class WriterOutput:
    """What one writer run printed before it died."""

    ready: threading.Event = field(default_factory=threading.Event)
    first_ack: threading.Event = field(default_factory=threading.Event)
    acks: list[Ack] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    torn: bytes = b""  # a last line cut short by the kill

    def read(self, stream: IO[bytes]) -> None:
        buffer = b""
        while chunk := stream.read1(65536):  # type: ignore[attr-defined]
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                self._take(line.decode("utf-8"))
        self.torn = buffer

    def _take(self, line: str) -> None:
        kind, _, rest = line.partition(" ")
        if kind == "ready":
            self.ready.set()
        elif kind == "ack":
            seq, session_id, session_seq, digest = rest.split(" ")
            self.acks.append(Ack(int(seq), session_id, int(session_seq), digest))
            self.first_ack.set()
        else:
            self.failures.append(line)


@pytest.fixture(params=["sqlite", "postgres"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "postgres":
        yield request.getfixturevalue("postgres_url")
    else:
        yield str(tmp_path / "audit.db")


def _is_postgres(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


def _named_connections(location: str, name: str) -> str:
    """`location` with connections that PostgreSQL lists under `name` (application_name)."""
    return f"{location}{'&' if '?' in location else '?'}application_name={name}"


def wait_until_server_is_done_with(location: str, name: str, timeout: float = 30.0) -> None:
    """Wait until PostgreSQL has ended every backend of the connections named `name`.

    A writer killed just after sending COMMIT leaves the server finishing that transaction
    on its own; reading the log before it has would see the records and the content of the
    last batch in different states, a race of the test's reading, not of the store.
    """
    import psycopg

    deadline = time.monotonic() + timeout
    with psycopg.connect(location, autocommit=True) as conn:
        while True:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (name,)
            ).fetchone()
            if row is not None and row[0] == 0:
                return
            assert time.monotonic() < deadline, f"backends of {name} still running"
            time.sleep(0.02)


def run_and_kill(location: str, key_file: Path, run: str, delay: float) -> WriterOutput:
    """Start a writer, let it append for `delay` seconds after its first ack, SIGKILL it;
    return once the database has finished with what the writer left in flight."""
    name = f"proctor-crash-{os.getpid()}-{run}"
    target = _named_connections(location, name) if _is_postgres(location) else location
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.audit._crash_writer", target, str(key_file), run],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    output = WriterOutput()
    assert process.stdout is not None
    reader = threading.Thread(target=output.read, args=(process.stdout,), daemon=True)
    reader.start()
    try:
        started = output.first_ack.wait(timeout=20)
        time.sleep(delay)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=20)
        reader.join(timeout=20)
        assert process.stderr is not None
        errors = process.stderr.read().decode("utf-8", "replace")
        process.stdout.close()
        process.stderr.close()
    assert started, f"writer {run} never acknowledged a record; stderr:\n{errors}"
    assert process.returncode == -signal.SIGKILL
    if _is_postgres(location):
        wait_until_server_is_done_with(location, name)
    return output


def test_acknowledged_records_survive_sigkill(location: str, tmp_path: Path) -> None:
    key_file = tmp_path / "audit.key"
    key = SigningKey.load_or_create(key_file)
    chance = random.Random(SEED)
    acked: list[Ack] = []
    for round_ in range(ROUNDS):
        # Mostly short lives, so kills land early (first batches, chain resumption) and late.
        delay = chance.choice([0.0, chance.uniform(0.0, 0.05), chance.uniform(0.05, 0.6)])
        output = run_and_kill(location, key_file, f"run-{round_}", delay)
        assert output.failures == [], f"round {round_}: appends failed: {output.failures[:3]}"
        assert output.acks, f"round {round_}: nothing acknowledged"
        acked += output.acks

    with open_record_store(location) as store:
        stored = list(store.records())
        assert [r.seq for r in stored] == list(range(1, len(stored) + 1))  # gap-free
        by_seq = {r.seq: r for r in stored}
        for ack in acked:
            row = by_seq.get(ack.seq)
            assert row is not None, f"acknowledged seq {ack.seq} is missing after the crashes"
            assert (row.session_id, row.session_seq, row.digest) == (
                ack.session_id,
                ack.session_seq,
                ack.digest,
            )
            assert record_digest(row.line) == ack.digest  # the same bytes, not just the index
        trusted = {key.public_key.keyid: key.public_key}
        payloads = [decode_record(r.line, trusted) for r in stored]
        runs = {p.event["run"] for p in payloads}
        assert runs == {f"run-{n}" for n in range(ROUNDS)}  # every life wrote something
        lives: dict[str, set[str]] = {}
        for payload in payloads:
            lives.setdefault(payload.session_id, set()).add(payload.event["run"])
        assert max(map(len, lives.values())) == ROUNDS  # chains resumed after kills
        rows = {row.commitment: row for s in lives for row in store.content_rows(s)}
        assert len(rows) == len(payloads)  # one sealed text per record, none left over
        for stored_row, payload in zip(stored, payloads, strict=True):
            target = payload.event["text"]["$content"]
            assert rows[target].record_seq == stored_row.seq and rows[target].sealed.matches()
        bundle = export_bundle(store, key, tmp_path / "bundle", "proctor.test/crash")
    assert bundle.count == len(stored) >= len(acked)
    report = verify_bundle(tmp_path / "bundle", trusted_keyids={key.public_key.keyid})
    assert report.ok, [str(p) for p in report.problems]
    assert report.records_checked == len(stored)
