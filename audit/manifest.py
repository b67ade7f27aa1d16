"""MANIFEST.json of an export bundle: what the bundle holds, signed.

The manifest lists the SHA-256 of every other file, the record range and the per-session
record counts, and is signed with Ed25519 over the RFC 8785 canonical JSON of everything
except its ``signatures``. The file is indented JSON for people to read, but it has exactly
one rendering (`render_manifest`), and the verifier insists on it, so that no byte of the
bundle can change unnoticed, not even whitespace.

Record signatures are over DSSE's PAE (bytes starting ``DSSEv1``) while the manifest
signature is over a JSON object (starting ``{``), so one can never be passed off as the
other even though the same key may make both.

A bundle holds either a contiguous range of the whole log, or, when the manifest has a
``selection``, the complete chains of a declared set of sessions (an export for a learner, a
policy version or a date range). Then ``sessions`` names exactly the sessions exported, each
with its full record count, and the records keep their global seq, ascending with gaps.
"""

from __future__ import annotations

import json
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from audit.b64 import b64decode_strict, b64encode
from audit.canonical import canonical_json
from audit.keys import PublicKey, SigningKey
from audit.records import Sha256Hex, Timestamp

BUNDLE_FORMAT: Final = 1
MANIFEST_NAME: Final = "MANIFEST.json"
RECORDS_PATH: Final = "log/records.jsonl"
KEYS_DIR: Final = "keys"


class ManifestRange(BaseModel):
    """The seq range of the records in log/records.jsonl."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    first_seq: int = Field(ge=1)
    last_seq: int = Field(ge=1)
    count: int = Field(ge=1)


class ManifestSelection(BaseModel):
    """Which sessions a subset bundle holds and the filters that chose them.

    `filters` is what the exporter asked for (learner, policy, dates), kept for the reader;
    the verifier checks that every listed session is complete, not that the filters were
    applied, which only the full log can show.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    filters: dict[str, str | int]
    head_seq: int = Field(ge=1)  # the log's last seq when the subset was taken


class ManifestSignature(BaseModel):
    """One signature over the manifest body."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    keyid: Sha256Hex
    sig: str


class Manifest(BaseModel):
    """The parsed MANIFEST.json."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    bundle_format: Literal[1]
    origin: str = Field(min_length=1)
    created_at: Timestamp
    range: ManifestRange
    sessions: dict[str, int]
    files: dict[str, Sha256Hex]
    selection: ManifestSelection | None = None  # set exactly for a subset of sessions
    signatures: list[ManifestSignature] = Field(min_length=1)

    @property
    def is_subset(self) -> bool:
        return self.selection is not None

    @field_validator("files")
    @classmethod
    def _safe_paths(cls, files: dict[str, str]) -> dict[str, str]:
        for name in files:
            parts = name.split("/")
            if name.startswith("/") or any(part in ("", ".", "..") for part in parts):
                raise ValueError(f"file path {name!r} is not a plain relative path")
            if name == MANIFEST_NAME:
                raise ValueError(f"{MANIFEST_NAME} cannot list itself")
        return files

    def inconsistencies(self) -> list[str]:
        """Disagreements between the manifest's own fields.

        Kept out of validation on purpose: an inconsistent manifest is still parsed, so
        its signature and file hashes are checked and reported too.
        """
        found = []
        span = self.range
        width = span.last_seq - span.first_seq + 1
        if self.selection is not None:
            if not 1 <= span.count <= width:
                found.append(
                    f"range.count {span.count} does not fit in seq {span.first_seq}.."
                    f"{span.last_seq}"
                )
            if self.selection.head_seq < span.last_seq:
                found.append(
                    f"selection.head_seq {self.selection.head_seq} is before range.last_seq "
                    f"{span.last_seq}"
                )
        elif span.count != width:
            found.append(
                f"range.count {span.count} is not last_seq - first_seq + 1 "
                f"({span.last_seq - span.first_seq + 1})"
            )
        if any(count < 1 for count in self.sessions.values()):
            found.append("a session has a record count below 1")
        if sum(self.sessions.values()) != span.count:
            found.append(
                f"session record counts add up to {sum(self.sessions.values())}, "
                f"not range.count {span.count}"
            )
        return found

    def body(self) -> dict[str, Any]:
        """Everything the signatures cover: the manifest without ``signatures``."""
        return _dump(self, exclude={"signatures"})


def _dump(manifest: Manifest, exclude: set[str] | None = None) -> dict[str, Any]:
    """The manifest as JSON data; a whole-log manifest has no ``selection`` key at all, so
    bundles written before subsets existed keep their one rendering and signature."""
    omit = set(exclude or ()) | ({"selection"} if manifest.selection is None else set())
    return manifest.model_dump(mode="json", exclude=omit)


def signing_bytes(body: dict[str, Any]) -> bytes:
    """The bytes a manifest signature is made over."""
    return canonical_json(body)


def sign_manifest(body: dict[str, Any], key: SigningKey) -> Manifest:
    """Sign a manifest body and return the validated, signed manifest."""
    signature = {"keyid": key.public_key.keyid, "sig": b64encode(key.sign(signing_bytes(body)))}
    return Manifest.model_validate({**body, "signatures": [signature]})


def render_manifest(manifest: Manifest) -> bytes:
    """The one byte rendering of a manifest: fixed field order, sorted maps, indent 2."""
    data = _dump(manifest)
    data["sessions"] = dict(sorted(data["sessions"].items()))
    data["files"] = dict(sorted(data["files"].items()))
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def manifest_signers(manifest: Manifest, keys: dict[str, PublicKey]) -> tuple[list[str], list[str]]:
    """Split the manifest's signatures into (verified key ids, failure descriptions).

    Signatures by key ids not in `keys` are reported as failures too, so a caller can say
    precisely why a manifest is not trusted.
    """
    message = signing_bytes(manifest.body())
    verified: list[str] = []
    failures: list[str] = []
    for entry in manifest.signatures:
        key = keys.get(entry.keyid)
        if key is None:
            failures.append(f"signature by key {entry.keyid} which is not a usable bundle key")
            continue
        try:
            signature = b64decode_strict(entry.sig)
        except ValueError as exc:
            failures.append(f"signature by key {entry.keyid} is not valid base64: {exc}")
            continue
        if key.verify(signature, message):
            verified.append(entry.keyid)
        else:
            failures.append(f"signature by key {entry.keyid} does not verify")
    return verified, failures
