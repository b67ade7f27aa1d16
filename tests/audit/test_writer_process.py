"""AuditWriterProcess: appends committed by a child process, with AuditLog's contract.

Tests taking `record_store_factory` run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from audit import AuditWriteError, OutboxRequest, decode_record, export_bundle, verify_bundle
from audit.issuer import DEFAULT_ORIGIN
from audit.log import AppendRequest
from audit.writer_process import RESTART_BACKOFF_SECONDS, AuditWriterProcess
from tests.audit.conftest import StoreFactory
from tests.audit.helpers import POLICY, event


@pytest.fixture
def writer(record_store_factory: StoreFactory, tmp_path: Path) -> Iterator[AuditWriterProcess]:
    record_store_factory()  # the schema exists before the child opens it, as in the service
    started = AuditWriterProcess(record_store_factory.location, tmp_path / "keys" / "audit.key")
    yield started
    started.close()


def test_appends_from_many_threads_are_numbered_chained_and_verifiable(
    writer: AuditWriterProcess, record_store_factory: StoreFactory, tmp_path: Path
) -> None:
    appended: dict[str, list[int]] = {}

    def speak(session: str) -> None:
        seqs = []
        for turn in range(15):
            seqs += [r.session_seq for r in writer.append(session, POLICY, [event(turn)])]
        appended[session] = seqs

    threads = [threading.Thread(target=speak, args=(f"s{n}",)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(seqs == list(range(15)) for seqs in appended.values())
    store = record_store_factory()
    assert store.head() == 12 * 15
    trusted = {writer.key.public_key.keyid: writer.key.public_key}
    payloads = [decode_record(r.line, trusted) for r in store.records()]
    assert [p.seq for p in payloads] == list(range(1, 181))
    summary = export_bundle(store, writer.key, tmp_path / "bundle", writer.origin)
    report = verify_bundle(summary.path)
    assert report.ok, report.problems
    assert report.records_checked == 180


def test_records_and_their_outbox_messages_are_written_together(
    writer: AuditWriterProcess, record_store_factory: StoreFactory
) -> None:
    records = writer.append(
        "s", POLICY, [event(1), event(2)], outbox=[OutboxRequest(1, "compliance")]
    )
    messages = record_store_factory().outbox_messages()
    assert [(m.channel, m.record_seq) for m in messages] == [("compliance", records[1].seq)]


def test_an_append_the_log_refuses_fails_alone(
    writer: AuditWriterProcess, record_store_factory: StoreFactory
) -> None:
    with pytest.raises(AuditWriteError, match="CanonicalizationError"):
        writer.append("s", POLICY, [{"type": "x", "value": float("nan")}])
    assert writer.append("s", POLICY, [event(1)])[0].seq == 1
    assert record_store_factory().head() == 1


def test_a_killed_writer_fails_waiting_appends_then_a_new_one_continues_the_log(
    writer: AuditWriterProcess, record_store_factory: StoreFactory, tmp_path: Path
) -> None:
    writer.append("s", POLICY, [event(0)])
    os.kill(writer.pid, signal.SIGKILL)
    with pytest.raises(AuditWriteError, match="audit writer process"):
        # The first append after the kill meets the dead child (its pipe, or its reader).
        for turn in range(1, 50):
            writer.append("s", POLICY, [event(turn)])
            time.sleep(0.01)
    killed = writer.pid
    time.sleep(RESTART_BACKOFF_SECONDS + 0.1)
    continued = writer.append("s", POLICY, [event(100)])
    assert writer.pid != killed
    store = record_store_factory()
    assert continued[0].seq == store.head()
    assert continued[0].session_seq == store.head() - 1  # one session, gap-free
    summary = export_bundle(store, writer.key, tmp_path / "bundle", writer.origin)
    assert verify_bundle(summary.path).ok


def test_a_submitted_append_settles_once_durable_and_an_event_loop_can_await_it(
    writer: AuditWriterProcess, record_store_factory: StoreFactory
) -> None:
    async def from_a_loop() -> list[int]:
        futures = [
            writer.submit(AppendRequest(f"s{n}", POLICY, [event(n), event(n + 10)], [], None))
            for n in range(5)
        ]
        done = await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))
        return [record.session_seq for records in done for record in records]

    assert asyncio.run(from_a_loop()) == [0, 1] * 5
    assert record_store_factory().head() == 10  # durable: the store holds them all
    nothing = AppendRequest("s", POLICY, [], [], None)
    assert writer.submit(nothing).result(timeout=0) == []


def test_a_submitted_append_fails_when_the_child_dies(writer: AuditWriterProcess) -> None:
    writer.append("s", POLICY, [event(0)])
    os.kill(writer.pid, signal.SIGKILL)
    with pytest.raises(AuditWriteError, match="audit writer process"):
        # Refused at once (the child is known dead), or failed when its reader sees it go.
        for turn in range(1, 50):
            writer.submit(AppendRequest("s", POLICY, [event(turn)], [], None)).result(timeout=30)
            time.sleep(0.01)


def test_after_close_appends_raise_and_the_child_has_exited(
    writer: AuditWriterProcess,
) -> None:
    writer.append("s", POLICY, [event(1)])
    pid = writer.pid
    writer.close()
    with pytest.raises(AuditWriteError, match="stopped"):
        writer.append("s", POLICY, [event(2)])
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # already reaped: it exited


def test_appends_waiting_when_close_is_called_are_still_written(
    writer: AuditWriterProcess, record_store_factory: StoreFactory
) -> None:
    results: list[int] = []

    def speak(session: str) -> None:
        results.extend(r.seq for r in writer.append(session, POLICY, [event(1), event(2)]))

    threads = [threading.Thread(target=speak, args=(f"s{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    assert sorted(results) == list(range(1, 17))
    assert record_store_factory().head() == 16


def test_a_store_the_child_cannot_open_is_a_clear_error(tmp_path: Path) -> None:
    writer = AuditWriterProcess("nosuch://where", tmp_path / "audit.key")
    with pytest.raises(AuditWriteError, match="could not open the log: StoreError: unknown audit"):
        writer.wait_ready()
    with pytest.raises(AuditWriteError, match="unknown audit store scheme 'nosuch'"):
        writer.append("s", POLICY, [event(1)])  # a new child is tried, and fails alike
    writer.close()


def test_the_origin_names_the_log_in_its_checkpoints(
    record_store_factory: StoreFactory, tmp_path: Path
) -> None:
    record_store_factory()
    writer = AuditWriterProcess(
        record_store_factory.location, tmp_path / "audit.key", origin="example.org/log"
    )
    try:
        writer.append("s", POLICY, [event(1), {"type": "session.ended"}])
    finally:
        writer.close()
    assert writer.origin == "example.org/log" != DEFAULT_ORIGIN
    latest = record_store_factory().latest_checkpoint("example.org/log")
    assert latest is not None and latest.size == 1 + 1


def test_answers_read_on_an_event_loop_settle_there_and_can_move_back_to_a_thread(
    writer: AuditWriterProcess, record_store_factory: StoreFactory
) -> None:
    settled_on: list[int] = []

    async def on_a_loop() -> tuple[int, list[int]]:
        writer.read_replies_on(asyncio.get_running_loop())
        try:
            futures = [
                writer.submit(AppendRequest(f"s{n}", POLICY, [event(n)], [], None))
                for n in range(6)
            ]
            for future in futures:
                future.add_done_callback(lambda _: settled_on.append(threading.get_ident()))
            done = await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))
            return threading.get_ident(), [records[0].seq for records in done]
        finally:
            writer.read_replies_on(None)

    loop_thread, seqs = asyncio.run(on_a_loop())
    assert sorted(seqs) == list(range(1, 7))
    assert settled_on and set(settled_on) <= {loop_thread}  # or at once, if already answered
    later = writer.submit(AppendRequest("t", POLICY, [event(9)], [], None))
    answered_on: list[int] = []
    later.add_done_callback(lambda _: answered_on.append(threading.get_ident()))
    assert later.result(timeout=30)[0].seq == 7  # read on a thread again: the loop is gone
    assert answered_on and answered_on[0] != loop_thread
    assert record_store_factory().head() == 7


def test_a_child_killed_while_its_answers_are_read_on_a_loop_fails_the_waiting_appends(
    writer: AuditWriterProcess, record_store_factory: StoreFactory
) -> None:
    async def on_a_loop() -> list[str]:
        writer.read_replies_on(asyncio.get_running_loop())
        outcomes: list[str] = []
        try:
            await asyncio.wrap_future(
                writer.submit(AppendRequest("s", POLICY, [event(0)], [], None))
            )
            os.kill(writer.pid, signal.SIGKILL)
            for turn in range(1, 50):
                try:
                    request = AppendRequest("s", POLICY, [event(turn)], [], None)
                    await asyncio.wait_for(asyncio.wrap_future(writer.submit(request)), 30)
                except AuditWriteError as error:
                    outcomes.append(str(error))
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(RESTART_BACKOFF_SECONDS + 0.1)
            # A new child starts from a worker thread; its answers are read on the loop too.
            restarted = await asyncio.to_thread(writer.append, "s", POLICY, [event(100)])
            outcomes.append(f"restarted at {restarted[0].seq}")
            request = AppendRequest("s", POLICY, [event(101)], [], None)
            again = await asyncio.wait_for(asyncio.wrap_future(writer.submit(request)), 30)
            outcomes.append(f"then {again[0].seq}")
        finally:
            writer.read_replies_on(None)
        return outcomes

    failed, restarted, then = asyncio.run(on_a_loop())
    assert "audit writer process" in failed
    head = record_store_factory().head()
    assert (restarted, then) == (f"restarted at {head - 1}", f"then {head}")
