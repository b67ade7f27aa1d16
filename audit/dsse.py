"""DSSE v1 envelopes (secure-systems-lab/dsse): sign, open, and encode canonically.

DSSE signs the pre-authentication encoding (PAE) of payload type and payload, so a
signature can never be replayed under another payload type and the payload bytes are
signed exactly as stored, with no JSON re-serialisation in between. The envelope itself is
plain JSON that independent tools (securesystemslib, sigstore) understand.
"""

from __future__ import annotations

import json.encoder
from collections.abc import Mapping
from typing import Any, Final, TypedDict

from audit.b64 import b64decode_strict, b64encode
from audit.errors import EnvelopeError
from audit.keys import PublicKey, SigningKey

_ENVELOPE_FIELDS: Final = frozenset({"payload", "payloadType", "signatures"})
_SIGNATURE_FIELDS: Final = frozenset({"keyid", "sig"})
_quote = json.encoder.encode_basestring  # JSON string escaping identical to RFC 8785's


class EnvelopeSignature(TypedDict):
    """One signature entry: the signer's key id and the base64 Ed25519 signature."""

    keyid: str
    sig: str


class Envelope(TypedDict):
    """A DSSE envelope as JSON: base64 payload, its type, and the signatures over its PAE."""

    payload: str
    payloadType: str
    signatures: list[EnvelopeSignature]


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: ``DSSEv1 SP len(type) SP type SP len(body) SP body``.

    Lengths are decimal byte counts (the type is measured after UTF-8 encoding).
    """
    type_bytes = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(type_bytes), type_bytes, len(payload), payload)


def sign_envelope(payload_type: str, payload: bytes, key: SigningKey) -> Envelope:
    """Wrap `payload` in a DSSE envelope signed by `key`."""
    signature = key.sign(pae(payload_type, payload))
    return {
        "payload": b64encode(payload),
        "payloadType": payload_type,
        "signatures": [{"keyid": key.public_key.keyid, "sig": b64encode(signature)}],
    }


def parse_envelope(envelope: object) -> Envelope:
    """Return `envelope` typed as an `Envelope` if it has exactly DSSE's JSON shape.

    Exactly: the three envelope fields, string values, and a non-empty list of signature
    objects with exactly ``keyid`` and ``sig``. Unknown fields are refused because they
    would be carried along unsigned.
    """
    if not isinstance(envelope, Mapping):
        raise EnvelopeError("malformed", f"envelope is a {type(envelope).__name__}, not an object")
    if envelope.keys() != _ENVELOPE_FIELDS:
        raise EnvelopeError(
            "malformed",
            f"envelope fields must be {sorted(_ENVELOPE_FIELDS)}, got {sorted(map(str, envelope))}",
        )
    if not isinstance(envelope["payload"], str) or not isinstance(envelope["payloadType"], str):
        raise EnvelopeError("malformed", "envelope payload and payloadType must be strings")
    signatures = envelope["signatures"]
    if not isinstance(signatures, list) or not signatures:
        raise EnvelopeError("malformed", "envelope signatures must be a non-empty list")
    for index, entry in enumerate(signatures):
        if not isinstance(entry, Mapping) or entry.keys() != _SIGNATURE_FIELDS:
            raise EnvelopeError(
                "malformed", f"signature {index} must be an object with exactly keyid and sig"
            )
        if not isinstance(entry["keyid"], str) or not isinstance(entry["sig"], str):
            raise EnvelopeError("malformed", f"signature {index}: keyid and sig must be strings")
    return envelope  # type: ignore[return-value]  # shape checked field by field above


def encode_envelope(envelope: Envelope) -> bytes:
    """The RFC 8785 canonical bytes of an envelope, computed directly.

    An envelope's keys are fixed ASCII names and its values are strings, so the canonical
    form is the keys in sorted order with RFC 8785 string escaping; building it directly is
    several times faster than the general canonicaliser, which matters because every record
    is encoded once when written and once more each time it is verified. Equality with
    `canonical_json` is a property test in tests/audit/test_dsse.py. Untyped input must go
    through `parse_envelope` first.
    """
    signatures = ",".join(
        f'{{"keyid":{_quote(entry["keyid"])},"sig":{_quote(entry["sig"])}}}'
        for entry in envelope["signatures"]
    )
    text = (
        f'{{"payload":{_quote(envelope["payload"])},'
        f'"payloadType":{_quote(envelope["payloadType"])},'
        f'"signatures":[{signatures}]}}'
    )
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EnvelopeError("malformed", "envelope contains a lone surrogate") from exc


def open_envelope(
    envelope: Mapping[str, Any],
    trusted: Mapping[str, PublicKey],
    *,
    payload_type: str | None = None,
) -> bytes:
    """Check the shape of `envelope`, verify it, and return its payload bytes.

    `trusted` maps key id to public key. The envelope is accepted if at least one signature
    whose key id is trusted verifies; signatures by unknown key ids are ignored, as DSSE
    allows co-signers. If `payload_type` is given the envelope must carry exactly that type.
    Raises `EnvelopeError` whose `reason` is one of ``malformed``, ``payload-type``,
    ``unknown-key``, ``bad-signature``.
    """
    return verify_envelope(parse_envelope(envelope), trusted, payload_type=payload_type)


def verify_envelope(
    envelope: Envelope,
    trusted: Mapping[str, PublicKey],
    *,
    payload_type: str | None = None,
) -> bytes:
    """`open_envelope` for an envelope already checked by `parse_envelope`."""
    if payload_type is not None and envelope["payloadType"] != payload_type:
        raise EnvelopeError(
            "payload-type",
            f"payloadType is {envelope['payloadType']!r}, expected {payload_type!r}",
        )
    try:
        payload = b64decode_strict(envelope["payload"])
    except ValueError as exc:
        raise EnvelopeError("malformed", f"payload: {exc}") from exc
    message = pae(envelope["payloadType"], payload)
    tried: list[str] = []
    for index, entry in enumerate(envelope["signatures"]):
        key = trusted.get(entry["keyid"])
        if key is None:
            continue
        try:
            signature = b64decode_strict(entry["sig"])
        except ValueError as exc:
            raise EnvelopeError("malformed", f"signature {index}: {exc}") from exc
        if key.verify(signature, message):
            return payload
        tried.append(entry["keyid"])
    if tried:
        raise EnvelopeError(
            "bad-signature", f"signature by key {tried[0]} does not verify over the payload"
        )
    keyids = ", ".join(entry["keyid"] for entry in envelope["signatures"])
    raise EnvelopeError("unknown-key", f"no signature by a trusted key (signed by: {keyids})")
