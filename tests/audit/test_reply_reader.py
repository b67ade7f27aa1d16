"""ReplyReader: every answer once and in order, on a thread or on an event loop, across moves."""

from __future__ import annotations

import asyncio
import os
import threading
from multiprocessing.connection import Connection

from audit.reply_reader import ReplyReader


class Collected:
    def __init__(self) -> None:
        self.answers: list[object] = []
        self.threads: set[int] = set()
        self.ends: list[BaseException] = []
        self.ended = threading.Event()

    def answer(self, message: object) -> None:
        self.answers.append(message)
        self.threads.add(threading.get_ident())

    def end(self, cause: BaseException) -> None:
        self.ends.append(cause)
        self.ended.set()


def reader_and_writer(collected: Collected) -> tuple[ReplyReader, Connection]:
    read_end, write_end = os.pipe()
    return (
        ReplyReader(read_end, collected.answer, collected.end),
        Connection(write_end, readable=False),
    )


def test_on_a_thread_answers_arrive_in_order_and_the_end_once() -> None:
    collected = Collected()
    reader, writer = reader_and_writer(collected)
    reader.start(None)
    for n in range(200):
        writer.send([(n, "x" * (n * 50))])  # some answers span several reads
    writer.close()
    assert collected.ended.wait(10)
    reader.finish(timeout=10)
    assert collected.answers == [[(n, "x" * (n * 50))] for n in range(200)]
    assert [type(cause) for cause in collected.ends] == [EOFError]
    assert threading.get_ident() not in collected.threads


def test_moves_between_a_thread_and_a_loop_lose_and_repeat_nothing() -> None:
    collected = Collected()
    reader, writer = reader_and_writer(collected)
    reader.start(None)
    sent = 0

    def send(count: int) -> None:
        nonlocal sent
        for _ in range(count):
            writer.send(sent)
            sent += 1

    async def on_a_loop() -> int:
        send(50)
        reader.move_to(asyncio.get_running_loop())
        send(50)
        for _ in range(100):
            if len(collected.answers) == sent:
                break
            await asyncio.sleep(0.01)
        reader.move_to(None)
        return threading.get_ident()

    send(30)
    loop_thread = asyncio.run(on_a_loop())
    send(30)
    writer.close()
    assert collected.ended.wait(10)
    reader.finish(timeout=10)
    assert collected.answers == list(range(160))
    assert loop_thread in collected.threads  # some were read on the loop
    assert len(collected.threads) >= 2  # and some on a thread
    assert len(collected.ends) == 1


def test_the_end_seen_on_a_loop_is_reported_off_the_loop() -> None:
    collected = Collected()
    reader, writer = reader_and_writer(collected)

    async def on_a_loop() -> int:
        reader.start(asyncio.get_running_loop())
        writer.send("last")
        writer.close()
        while not collected.ended.is_set():
            await asyncio.sleep(0.01)
        return threading.get_ident()

    loop_thread = asyncio.run(on_a_loop())
    reader.finish(timeout=10)
    assert collected.answers == ["last"]
    assert collected.threads == {loop_thread}
    assert len(collected.ends) == 1


def test_finish_reads_what_is_left_after_the_loop_has_gone() -> None:
    collected = Collected()
    reader, writer = reader_and_writer(collected)

    async def leave_without_moving_back() -> None:
        reader.start(asyncio.get_running_loop())
        await asyncio.sleep(0)

    asyncio.run(leave_without_moving_back())
    writer.send("after the loop")
    writer.close()
    reader.finish(timeout=10)
    assert collected.answers == ["after the loop"]
    assert len(collected.ends) == 1


def test_started_on_a_loop_that_has_closed_it_reads_on_a_thread() -> None:
    collected = Collected()
    reader, writer = reader_and_writer(collected)
    closed = asyncio.new_event_loop()
    closed.close()
    reader.start(closed)  # a child restarted after the service's loop stopped
    writer.send("answer")
    writer.close()
    assert collected.ended.wait(10)
    reader.finish(timeout=10)
    assert collected.answers == ["answer"]
