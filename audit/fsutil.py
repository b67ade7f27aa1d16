"""Small durability helpers shared by the key file and the bundle writer.

A file is only durable once its data and the directory entry naming it are both synced;
these helpers keep that sequence in one place.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of `data` to `fd` (os.write may write less than asked)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def fsync_dir(directory: Path) -> None:
    """Make new directory entries durable (skipped where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_new_file(path: Path, data: bytes) -> str:
    """Create `path` (it must not exist), write and sync `data`; return its SHA-256, which
    is what a bundle manifest lists for the file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return hashlib.sha256(data).hexdigest()
