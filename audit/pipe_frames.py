"""Messages framed as `multiprocessing.connection.Connection` frames them, so that one end of
a pipe can be a `Connection` and the other raw, non-blocking reads and writes.

A frame is a 4-byte big-endian signed length (or -1 and an 8-byte length, for a payload of
2 GiB or more) followed by the message's pickle.
"""

from __future__ import annotations

import pickle
import struct
from typing import Final

_LONGEST_SHORT_PAYLOAD: Final = 0x7FFFFFFF
_SHORT: Final = struct.Struct("!i")
_LONG: Final = struct.Struct("!Q")


def frame(message: object) -> bytes:
    """`message` as `Connection.send` would write it."""
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    if len(payload) > _LONGEST_SHORT_PAYLOAD:
        return _SHORT.pack(-1) + _LONG.pack(len(payload)) + payload
    return _SHORT.pack(len(payload)) + payload


class FrameBuffer:
    """Bytes read so far from a stream of frames: `feed` returns the messages they complete
    and keeps the start of the next one. Only the child this process started writes to it,
    so its pickles are as trusted as the child."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[object]:
        buffer = self._buffer
        buffer += data
        messages: list[object] = []
        while len(buffer) >= _SHORT.size:
            (size,) = _SHORT.unpack_from(buffer)
            start = _SHORT.size
            if size == -1:
                if len(buffer) < _SHORT.size + _LONG.size:
                    break
                (size,) = _LONG.unpack_from(buffer, _SHORT.size)
                start += _LONG.size
            if len(buffer) < start + size:
                break
            messages.append(pickle.loads(bytes(buffer[start : start + size])))
            del buffer[: start + size]
        return messages

    @property
    def pending(self) -> int:
        """Bytes of a frame begun but not yet complete."""
        return len(self._buffer)
