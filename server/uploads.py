"""Uploaded files copied to disk under a size limit, refused as soon as they pass it."""

from __future__ import annotations

from pathlib import Path

from fastapi import UploadFile

from server.errors import ApiError

CHUNK_BYTES = 1 << 20


def save_upload(upload: UploadFile, target: Path, limit: int) -> None:
    """Copy the upload to `target` (which must not exist), raising 413 past `limit` bytes."""
    size = 0
    with target.open("xb") as sink:
        while chunk := upload.file.read(CHUNK_BYTES):
            size += len(chunk)
            if size > limit:
                raise ApiError(
                    413, "too_large", f"{target.name} exceeds the upload limit of {limit} bytes"
                )
            sink.write(chunk)
