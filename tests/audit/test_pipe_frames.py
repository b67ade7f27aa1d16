"""Frames as `multiprocessing.connection.Connection` writes and reads them, in any chunks."""

from __future__ import annotations

import os
from multiprocessing.connection import Connection

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit.pipe_frames import FrameBuffer, frame

messages = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.binary(),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner),
    max_leaves=12,
)


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


@given(st.lists(messages, max_size=5), st.lists(st.integers(1, 64), min_size=1))
def test_a_frame_buffer_reads_what_connection_sent_in_any_chunks(
    sent: list[object], chunk_sizes: list[int]
) -> None:
    read_end, write_end = os.pipe()
    writer = Connection(write_end, readable=False)
    for message in sent:
        writer.send(message)
    writer.close()
    with os.fdopen(read_end, "rb") as stream:
        stream_bytes = stream.read()
    frames = FrameBuffer()
    received: list[object] = []
    offset = 0
    for turn in range(len(stream_bytes)):
        size = chunk_sizes[turn % len(chunk_sizes)]
        received += frames.feed(stream_bytes[offset : offset + size])
        offset += size
        if offset >= len(stream_bytes):
            break
    assert received == sent
    assert frames.pending == 0


def test_a_frame_cut_short_is_kept_until_it_is_complete() -> None:
    whole = frame(("ticket", 7))
    frames = FrameBuffer()
    assert frames.feed(whole[:3]) == []
    assert frames.feed(whole[3:-1]) == []
    assert frames.pending == len(whole) - 1
    assert frames.feed(whole[-1:] + frame("next")[:5]) == [("ticket", 7)]
    assert frames.pending == 5
