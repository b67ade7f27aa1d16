"""Sealed content in an export bundle: which files, what each line says, and writing them.

Layout (listed and hashed in the signed MANIFEST.json like every other file)::

    content/sessions/<session>.jsonl   {"commitment", "salt" (hex), "session_id", "text"}
    content/erased.jsonl               {"commitment", "erased_by" (seq), "session_id"}

one canonical JSON object per line. The first holds the text still stored for the sealed
references of the exported records; the second declares the referenced commitments whose
text was erased, each with the seq of the ``content.erased`` record that erased it. A
session whose id is not a plain file name gets ``sha256-<hex of the id>.jsonl``; the lines
name their session either way. Bundles without sealed references have no content/ folder.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from audit.canonical import canonical_json
from audit.content import SALT_BYTES, SealedText, is_commitment, references
from audit.content_store import ContentRow, ContentStore, Erasure
from audit.errors import BundleError
from audit.fsutil import fsync_dir, write_new_file
from audit.store import StoredRecord

CONTENT_DIR: Final = "content"
CONTENT_SESSIONS_DIR: Final = "content/sessions"
ERASED_PATH: Final = "content/erased.jsonl"

_PLAIN_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\Z")
_SALT_HEX: Final = re.compile(rf"^[0-9a-f]{{{2 * SALT_BYTES}}}\Z")


def content_file(session_id: str) -> str:
    """The bundle path of `session_id`'s content lines."""
    plain = _PLAIN_NAME.match(session_id) and not session_id.startswith("sha256-")
    stem = session_id if plain else "sha256-" + hashlib.sha256(session_id.encode()).hexdigest()
    return f"{CONTENT_SESSIONS_DIR}/{stem}.jsonl"


def content_line(row: ContentRow) -> bytes:
    return (
        canonical_json(
            {
                "commitment": row.commitment,
                "salt": row.salt.hex(),
                "session_id": row.session_id,
                "text": row.text,
            }
        )
        + b"\n"
    )


def erased_line(erasure: Erasure) -> bytes:
    return (
        canonical_json(
            {
                "commitment": erasure.commitment,
                "erased_by": erasure.erased_by,
                "session_id": erasure.session_id,
            }
        )
        + b"\n"
    )


def parse_content_line(value: object) -> tuple[SealedText, str]:
    """The sealed text and session of one parsed line of a content file; `ValueError`
    saying what is wrong otherwise (the commitment itself is checked by the caller)."""
    fields = _fields(value, {"commitment", "salt", "session_id", "text"})
    commitment, salt, session_id, text = (
        fields["commitment"],
        fields["salt"],
        fields["session_id"],
        fields["text"],
    )
    if not is_commitment(commitment):
        raise ValueError(f"commitment {commitment!r} is not sha256:<64 hex>")
    if not isinstance(salt, str) or not _SALT_HEX.match(salt):
        raise ValueError(f"salt is not {SALT_BYTES} bytes of lower-case hex")
    if not isinstance(session_id, str) or not session_id:
        raise ValueError("session_id is not a non-empty string")
    if not isinstance(text, str):
        raise ValueError("text is not a string")
    return SealedText(commitment, bytes.fromhex(salt), text), session_id


def parse_erased_line(value: object) -> Erasure:
    """One parsed line of content/erased.jsonl; `ValueError` saying what is wrong otherwise."""
    fields = _fields(value, {"commitment", "erased_by", "session_id"})
    commitment, erased_by, session_id = (
        fields["commitment"],
        fields["erased_by"],
        fields["session_id"],
    )
    if not is_commitment(commitment):
        raise ValueError(f"commitment {commitment!r} is not sha256:<64 hex>")
    if not isinstance(erased_by, int) or isinstance(erased_by, bool) or erased_by < 1:
        raise ValueError("erased_by is not a record seq")
    if not isinstance(session_id, str) or not session_id:
        raise ValueError("session_id is not a non-empty string")
    return Erasure(commitment, session_id, erased_by)


def _fields(value: object, names: set[str]) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    if set(value) != names:
        raise ValueError(f"fields are {sorted(value)}, expected {sorted(names)}")
    return value


class ContentExport:
    """Collects the sealed references of the records an export writes, then writes their
    content files (a small hook in `audit.bundle`: `note` each record, then `write`)."""

    def __init__(self) -> None:
        self._wanted: dict[str, set[str]] = {}  # session id -> commitments referenced
        self.texts: dict[str, str] = {}  # commitment -> text written, for the bundle's views

    def note(self, record: StoredRecord) -> None:
        event = _event(record)
        found = set(references(event)) if event else set()
        if found:
            self._wanted.setdefault(record.session_id, set()).update(found)

    def write(self, store: object, out_dir: Path) -> dict[str, str]:
        """Write the content files into `out_dir`; their bundle paths and SHA-256."""
        if not self._wanted:
            return {}
        if not isinstance(store, ContentStore):
            raise BundleError(
                f"the exported records refer to sealed content, but {type(store).__name__} "
                "keeps none"
            )
        files: dict[str, str] = {}
        erased: list[Erasure] = []
        folder = out_dir / CONTENT_SESSIONS_DIR
        folder.mkdir(parents=True)
        for session_id in sorted(self._wanted):
            wanted = self._wanted[session_id]
            # Rows first, then erasures: an erasure committed between the two reads shows in
            # both, and then the erasure wins (its text must not leave the store any more).
            rows = [row for row in store.content_rows(session_id) if row.commitment in wanted]
            gone = [e for e in store.erasures(session_id) if e.commitment in wanted]
            erased += gone
            rows = [row for row in rows if row.commitment not in {e.commitment for e in gone}]
            self.texts.update((row.commitment, row.text) for row in rows)
            if rows:
                name = content_file(session_id)
                files[name] = write_new_file(out_dir / name, b"".join(map(content_line, rows)))
        fsync_dir(folder)
        if erased:
            files[ERASED_PATH] = write_new_file(
                out_dir / ERASED_PATH, b"".join(map(erased_line, erased))
            )
        fsync_dir(out_dir / CONTENT_DIR)
        return files


def _event(record: StoredRecord) -> object:
    """The event of one of the store's own record lines (verified when written)."""
    try:
        payload = json.loads(base64.b64decode(json.loads(record.line)["payload"]))
        return payload.get("event") if isinstance(payload, dict) else None
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
