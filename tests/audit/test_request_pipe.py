"""RequestPipe: framed as `Connection` frames, in order, and never blocking its sender."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from multiprocessing.connection import Connection

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit.request_pipe import RequestPipe, frame

messages = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.binary(),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner),
    max_leaves=12,
)


@pytest.fixture
def pipe_ends() -> Iterator[tuple[RequestPipe, Connection]]:
    read_end, write_end = os.pipe()
    reader = Connection(read_end, writable=False)
    pipe = RequestPipe(write_end)
    yield pipe, reader
    pipe.abandon()
    reader.close()


@given(st.lists(messages, max_size=5))
def test_connection_recv_reads_back_what_was_framed(sent: list[object]) -> None:
    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "wb") as out:
        for message in sent:
            out.write(frame(message))
    reader = Connection(read_end, writable=False)
    try:
        assert [reader.recv() for _ in sent] == sent
        with pytest.raises(EOFError):  # and nothing after them
            reader.recv()
    finally:
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
