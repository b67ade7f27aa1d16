"""DSSE v1: PAE, signing, opening, canonical encoding, and an independent verifier."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from securesystemslib.dsse import Envelope as SSlibEnvelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import SSlibKey  # type: ignore[attr-defined]  # not in its __all__

from audit import EnvelopeError, SigningKey, canonical_json, open_envelope, pae, sign_envelope
from audit.b64 import b64encode
from audit.dsse import encode_envelope, parse_envelope

TYPE = "application/vnd.proctor.record+json"


def test_pae_matches_the_dsse_specification_vector() -> None:
    assert (
        pae("http://example.com/HelloWorld", b"hello world")
        == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_pae_counts_utf8_bytes_not_characters() -> None:
    assert pae("é", b"") == "DSSEv1 2 é 0 ".encode()


def test_sign_then_open_returns_the_payload(key: SigningKey) -> None:
    envelope = sign_envelope(TYPE, b'{"a":1}', key)
    assert envelope["payloadType"] == TYPE
    assert envelope["signatures"][0]["keyid"] == key.public_key.keyid
    trusted = {key.public_key.keyid: key.public_key}
    assert open_envelope(envelope, trusted, payload_type=TYPE) == b'{"a":1}'


def test_envelope_from_another_key_is_rejected(key: SigningKey) -> None:
    other = SigningKey.generate()
    envelope = sign_envelope(TYPE, b"payload", other)
    with pytest.raises(EnvelopeError) as caught:
        open_envelope(envelope, {key.public_key.keyid: key.public_key})
    assert caught.value.reason == "unknown-key"
    # Claiming a trusted keyid does not help: the signature is still the other key's.
    envelope["signatures"][0]["keyid"] = key.public_key.keyid
    with pytest.raises(EnvelopeError) as caught:
        open_envelope(envelope, {key.public_key.keyid: key.public_key})
    assert caught.value.reason == "bad-signature"


def _opened(envelope: Any, key: SigningKey, payload_type: str | None = TYPE) -> str:
    with pytest.raises(EnvelopeError) as caught:
        open_envelope(envelope, {key.public_key.keyid: key.public_key}, payload_type=payload_type)
    return caught.value.reason


def test_precise_reasons(key: SigningKey) -> None:
    good = sign_envelope(TYPE, b"payload", key)

    def changed(**fields: Any) -> dict[str, Any]:
        envelope: dict[str, Any] = copy.deepcopy(dict(good))
        envelope.update(fields)
        return envelope

    assert _opened(changed(payloadType="text/plain"), key) == "payload-type"
    # The type is signed too: relabelling it without a payload_type check still fails.
    assert _opened(changed(payloadType="text/plain"), key, payload_type=None) == "bad-signature"
    assert _opened(changed(payload="not base64!"), key) == "malformed"
    assert _opened(changed(payload=b64encode(b"payloaD")), key) == "bad-signature"
    sig = good["signatures"][0]
    assert _opened(changed(signatures=[{**sig, "sig": "@@@@"}]), key) == "malformed"
    assert _opened(changed(signatures=[]), key) == "malformed"
    assert _opened(changed(signatures=[{**sig, "extra": 1}]), key) == "malformed"
    assert _opened(changed(extra="x"), key) == "malformed"
    assert _opened(changed(payload=42), key) == "malformed"
    assert _opened([good], key) == "malformed"


def test_non_canonical_base64_is_rejected(key: SigningKey) -> None:
    # b"hi" is "aGk="; "aGl=" decodes to the same bytes with a non-zero padding bit.
    envelope = sign_envelope(TYPE, b"hi", key)
    assert envelope["payload"] == "aGk="
    envelope["payload"] = "aGl="
    assert _opened(envelope, key) == "malformed"


def test_cosignature_by_unknown_key_is_ignored(key: SigningKey) -> None:
    envelope = sign_envelope(TYPE, b"payload", key)
    other = sign_envelope(TYPE, b"payload", SigningKey.generate())
    envelope["signatures"] = other["signatures"] + envelope["signatures"]
    trusted = {key.public_key.keyid: key.public_key}
    assert open_envelope(envelope, trusted, payload_type=TYPE) == b"payload"


def test_securesystemslib_verifies_our_envelopes(key: SigningKey) -> None:
    payload = canonical_json({"event": {"type": "SessionStarted"}, "seq": 1})
    envelope = sign_envelope(TYPE, payload, key)
    public = key.public_key
    theirs = SSlibEnvelope.from_dict(json.loads(json.dumps(envelope)))
    ssl_key = SSlibKey.from_dict(public.keyid, public.to_securesystemslib_dict())
    accepted = theirs.verify([ssl_key], 1)
    assert list(accepted) == [public.keyid]
    assert theirs.payload == payload
    assert theirs.pae() == pae(TYPE, payload)


def test_securesystemslib_rejects_a_forged_payload(key: SigningKey) -> None:
    envelope = sign_envelope(TYPE, b"original", key)
    envelope["payload"] = b64encode(b"forged")
    theirs = SSlibEnvelope.from_dict(json.loads(json.dumps(envelope)))
    ssl_key = SSlibKey.from_dict(key.public_key.keyid, key.public_key.to_securesystemslib_dict())
    with pytest.raises(VerificationError, match="threshold"):
        theirs.verify([ssl_key], 1)


@settings(max_examples=60)
@given(
    payload=st.text(),
    payload_type=st.text(),
    signatures=st.lists(st.tuples(st.text(), st.text()), min_size=1, max_size=3),
)
def test_fast_encoding_equals_rfc8785(
    payload: str, payload_type: str, signatures: list[tuple[str, str]]
) -> None:
    envelope = parse_envelope(
        {
            "payload": payload,
            "payloadType": payload_type,
            "signatures": [{"keyid": k, "sig": s} for k, s in signatures],
        }
    )
    assert encode_envelope(envelope) == canonical_json(envelope)


def test_encoding_refuses_lone_surrogates() -> None:
    envelope = parse_envelope(
        {"payload": "\ud800", "payloadType": "t", "signatures": [{"keyid": "k", "sig": "s"}]}
    )
    with pytest.raises(EnvelopeError, match="surrogate"):
        encode_envelope(envelope)
