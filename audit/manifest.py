"""MANIFEST.json of an export bundle: what the bundle holds, signed.

The manifest lists the SHA-256 of every other file, the record range and the per-session
record counts, and is signed with Ed25519 over the RFC 8785 canonical JSON of everything
except its ``signatures``. The file is indented JSON for people to read, but it has exactly
one rendering (`render_manifest`), and the verifier insists on it, so that no byte of the
bundle can change unnoticed, not even whitespace.

Record signatures are over DSSE's PAE (bytes starting ``DSSEv1``) while the manifest
signature is over a JSON object (starting ``{``), so one can never be passed off as the
other even though the same key may make both.
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
    signatures: list[ManifestSignature] = Field(min_length=1)

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
        if span.count != span.last_seq - span.first_seq + 1:
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
        return self.model_dump(mode="json", exclude={"signatures"})


def signing_bytes(body: dict[str, Any]) -> bytes:
    """The bytes a manifest signature is made over."""
    return canonical_json(body)


def sign_manifest(body: dict[str, Any], key: SigningKey) -> Manifest:
    """Sign a manifest body and return the validated, signed manifest."""
    signature = {"keyid": key.public_key.keyid, "sig": b64encode(key.sign(signing_bytes(body)))}
    return Manifest.model_validate({**body, "signatures": [signature]})


def render_manifest(manifest: Manifest) -> bytes:
    """The one byte rendering of a manifest: fixed field order, sorted maps, indent 2."""
    data = manifest.model_dump(mode="json")
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
