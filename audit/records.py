"""The audit record format: what one record says and how it becomes one signed line.

A record is a DSSE envelope whose payload is the RFC 8785 canonical JSON of a
`RecordPayload`. Its *record line* is the canonical JSON of the envelope (no newline), and
its digest is the SHA-256 of that line. Each payload names the digest of the previous line
of the same session (`prev`), so sessions form hash chains; `seq` numbers every record of
the log without gaps, so a missing or reordered record shows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Annotated, Any, Final

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from audit.canonical import canonical_json
from audit.dsse import (
    Envelope,
    encode_envelope,
    parse_envelope,
    sign_envelope,
    verify_envelope,
)
from audit.envelope_line import plain_envelope
from audit.errors import EnvelopeError, RecordError
from audit.keys import PublicKey, SigningKey
from audit.timefmt import TIMESTAMP_PATTERN, parse_timestamp

RECORD_PAYLOAD_TYPE: Final = "application/vnd.proctor.record+json"
SHA256_HEX_PATTERN: Final = r"^[0-9a-f]{64}$"

Sha256Hex = Annotated[str, Field(pattern=SHA256_HEX_PATTERN)]


def _real_timestamp(text: str) -> str:
    parse_timestamp(text)
    return text


Timestamp = Annotated[str, Field(pattern=TIMESTAMP_PATTERN), AfterValidator(_real_timestamp)]


class PolicyRef(BaseModel):
    """The published policy version a record was evaluated under."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    id: str = Field(min_length=1)
    version: int = Field(ge=1)
    digest: Sha256Hex  # SHA-256 (lower-case hex) of the policy's canonical form


class RecordPayload(BaseModel):
    """What one audit record attests: one event, where it sits in the log and its session."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    seq: int = Field(ge=1)  # global position, contiguous from 1
    session_id: str = Field(min_length=1)
    session_seq: int = Field(ge=0)  # position within the session, contiguous from 0
    prev: Sha256Hex | None  # digest of the session's previous record line; None at session_seq 0
    policy: PolicyRef
    timestamp: Timestamp  # RFC 3339 UTC, microseconds, 'Z'
    event: dict[str, Any]  # the event's JSON; its "type" says which event it is

    @model_validator(mode="after")
    def _check_chain_start_and_event(self) -> RecordPayload:
        if (self.session_seq == 0) != (self.prev is None):
            raise ValueError("prev must be null exactly when session_seq is 0")
        event_type = self.event.get("type")
        if not isinstance(event_type, str) or not event_type:
            raise ValueError('event must have a non-empty string "type"')
        return self


def record_digest(line: bytes) -> str:
    """Lower-case hex SHA-256 of a record line: the value the next record's `prev` names."""
    return hashlib.sha256(line).hexdigest()


def payload_bytes(payload: RecordPayload) -> bytes:
    """The canonical JSON a record's envelope signs.

    Dumped in Python mode, not pydantic's JSON mode: JSON mode would quietly turn NaN into
    null or bytes into text, recording something other than the event; the canonicaliser
    refuses such values instead.
    """
    return canonical_json(payload.model_dump())


def encode_record(payload: RecordPayload, key: SigningKey) -> bytes:
    """Sign `payload` and return its record line."""
    envelope = sign_envelope(RECORD_PAYLOAD_TYPE, payload_bytes(payload), key)
    return encode_envelope(envelope)


def decode_record(line: bytes, trusted: Mapping[str, PublicKey]) -> RecordPayload:
    """Check one record line completely and return its payload.

    The line must be canonical JSON of a DSSE envelope of type `RECORD_PAYLOAD_TYPE`,
    signed by a key in `trusted` (key id to key), over a valid `RecordPayload`. Raises
    `RecordError` whose `reason` is one of ``malformed``, ``not-canonical``,
    ``payload-type``, ``unknown-key``, ``bad-signature``, ``payload-invalid``. The bundle
    verifier calls this for every line, so it is the one definition of a valid record.
    """
    return validate_payload(verified_payload(line, trusted))


def verified_payload(line: bytes, trusted: Mapping[str, PublicKey]) -> bytes:
    """The payload bytes of a record line whose envelope `decode_record` accepts; raises its
    `RecordError` otherwise. The payload itself is not validated yet (`validate_payload`)."""
    checked = plain_envelope(line)  # canonical by construction when it matches
    try:
        if checked is None:
            checked = _general_envelope(line)
        return verify_envelope(checked, trusted, payload_type=RECORD_PAYLOAD_TYPE)
    except EnvelopeError as exc:
        raise RecordError(exc.reason, str(exc)) from exc


def validate_payload(payload: bytes) -> RecordPayload:
    """`payload` as a `RecordPayload`; raises `RecordError` ``payload-invalid`` if it is not
    one, naming every problem the model finds."""
    try:
        return RecordPayload.model_validate_json(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, err['loc'])) or 'payload'}: {err['msg']}" for err in exc.errors()
        )
        raise RecordError("payload-invalid", f"payload is not a valid record: {problems}") from exc


def _general_envelope(line: bytes) -> Envelope:
    """Parse any line, check the envelope's shape and that the line is its canonical form."""
    try:
        envelope = json.loads(line)
    except (ValueError, RecursionError) as exc:  # ValueError includes UnicodeDecodeError
        raise RecordError("malformed", f"not JSON: {exc}") from exc
    checked = parse_envelope(envelope)
    if encode_envelope(checked) != line:
        raise RecordError("not-canonical", "line is not the RFC 8785 canonical form")
    return checked
