"""The record format: payload validation, record lines, and decoding them back."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from pydantic import ValidationError

from audit import (
    RECORD_PAYLOAD_TYPE,
    PolicyRef,
    RecordError,
    RecordPayload,
    SigningKey,
    canonical_json,
    decode_record,
    encode_record,
    record_digest,
    sign_envelope,
)
from audit.b64 import b64encode
from audit.dsse import encode_envelope
from tests.audit.helpers import POLICY, event

FIELDS: dict[str, Any] = {
    "seq": 7,
    "session_id": "session-a",
    "session_seq": 2,
    "prev": "cd" * 32,
    "policy": POLICY,
    "timestamp": "2026-11-22T04:50:09.123456Z",
    "event": event(1),
}


def payload(**changes: Any) -> RecordPayload:
    return RecordPayload(**{**FIELDS, **changes})


def test_valid_payload_is_frozen() -> None:
    record = payload()
    with pytest.raises(ValidationError):
        record.seq = 8


@pytest.mark.parametrize(
    "changes",
    [
        {"seq": 0},
        {"seq": True},  # strict: a bool is not an int
        {"seq": "7"},  # strict: no coercion from strings
        {"session_id": ""},
        {"session_seq": -1},
        {"prev": None},  # session_seq 2 must name its predecessor
        {"session_seq": 0},  # ...and session_seq 0 must not
        {"prev": "CD" * 32},
        {"prev": "cd" * 31},
        {"timestamp": "2026-11-22T04:50:09Z"},
        {"timestamp": "2026-02-30T04:50:09.123456Z"},
        {"event": {"text": "no type"}},
        {"event": {"type": ""}},
        {"extra": 1},
    ],
)
def test_invalid_payloads_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        payload(**changes)


def test_session_start_has_no_prev() -> None:
    assert payload(session_seq=0, prev=None).prev is None


@pytest.mark.parametrize(
    "changes", [{"version": 0}, {"digest": "x" * 64}, {"id": ""}, {"version": "3"}]
)
def test_invalid_policy_refs_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        PolicyRef(**{"id": "p", "version": 1, "digest": "ab" * 32, **changes})


def test_record_line_is_canonical_envelope_of_canonical_payload(key: SigningKey) -> None:
    record = payload()
    line = encode_record(record, key)
    envelope = json.loads(line)
    assert line == canonical_json(envelope)
    assert not line.endswith(b"\n")
    assert envelope["payloadType"] == RECORD_PAYLOAD_TYPE
    assert envelope["payload"] == b64encode(canonical_json(record.model_dump(mode="json")))
    assert record_digest(line) == hashlib.sha256(line).hexdigest()


def test_decode_returns_the_payload(key: SigningKey) -> None:
    record = payload()
    decoded = decode_record(encode_record(record, key), {key.public_key.keyid: key.public_key})
    assert decoded == record


def _reason(line: bytes, key: SigningKey) -> str:
    with pytest.raises(RecordError) as caught:
        decode_record(line, {key.public_key.keyid: key.public_key})
    return caught.value.reason


def test_decode_reasons(key: SigningKey) -> None:
    line = encode_record(payload(), key)
    envelope = json.loads(line)
    assert _reason(b"{not json", key) == "malformed"
    assert _reason(b"\xff\xfe", key) == "malformed"
    assert _reason(b"[" * 100_000, key) == "malformed"
    assert _reason(json.dumps(envelope, indent=1).encode(), key) == "not-canonical"
    assert _reason(line + b" ", key) == "not-canonical"
    assert _reason(encode_record(payload(), SigningKey.generate()), key) == "unknown-key"
    other_type = sign_envelope("text/plain", b"{}", key)
    assert _reason(encode_envelope(other_type), key) == "payload-type"
    forged = dict(envelope, payload=b64encode(b'{"seq":1}'))
    assert _reason(canonical_json(forged), key) == "bad-signature"
    signed_garbage = sign_envelope(RECORD_PAYLOAD_TYPE, b'{"seq":1}', key)
    assert _reason(encode_envelope(signed_garbage), key) == "payload-invalid"
