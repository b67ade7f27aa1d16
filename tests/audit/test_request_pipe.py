"""RequestPipe: framed as `Connection` frames, in order, and never blocking its sender."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from multiprocessing.connection import Connection

import pytest

from audit.request_pipe import RequestPipe


@pytest.fixture
def pipe_ends() -> Iterator[tuple[RequestPipe, Connection]]:
    read_end, write_end = os.pipe()
    reader = Connection(read_end, writable=False)
    pipe = RequestPipe(write_end)
    yield pipe, reader
    pipe.abandon()
    reader.close()


def test_a_full_pipe_does_not_block_the_sender_and_keeps_the_order(
    pipe_ends: tuple[RequestPipe, Connection],
) -> None:
    pipe, reader = pipe_ends
    blob = "x" * 50_000
    for n in range(40):  # 2 MB into a pipe of 64 KiB that nobody reads yet
        pipe.send((n, blob))
    assert [reader.recv()[0] for _ in range(40)] == list(range(40))


def test_close_writes_what_waits_then_the_reader_sees_the_end(
    pipe_ends: tuple[RequestPipe, Connection],
) -> None:
    pipe, reader = pipe_ends
    for n in range(20):
        pipe.send((n, "y" * 30_000))
    received: list[int] = []

    def read_to_the_end() -> None:
        try:
            while True:
                received.append(reader.recv()[0])
        except EOFError:
            pass

    thread = threading.Thread(target=read_to_the_end)
    thread.start()
    pipe.close(timeout=30)
    thread.join(timeout=30)
    assert received == list(range(20))
    pipe.send("after close")  # dropped, not raised: nobody would answer it


def test_a_reader_that_went_away_makes_sends_no_ops(
    pipe_ends: tuple[RequestPipe, Connection],
) -> None:
    pipe, reader = pipe_ends
    reader.close()
    for n in range(100):
        pipe.send((n, "z" * 10_000))  # neither raises nor blocks
    pipe.close(timeout=5)


def test_close_gives_up_on_a_reader_that_never_reads(
    pipe_ends: tuple[RequestPipe, Connection],
) -> None:
    pipe, _ = pipe_ends
    pipe.send("w" * 200_000)
    pipe.close(timeout=0.2)  # returns, dropping what the pipe could not take
