"""The record-line fast paths agree exactly with the general checks they shortcut.

`plain_envelope` skips the JSON parser for lines of the usual layout, `b64decode_strict`
skips a second pass over the text; a disagreement with the general definitions would let
the verifier accept a line the general check refuses (or the reverse), so both are held
against those definitions on generated and mutated input.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from audit import SigningKey
from audit.b64 import b64decode_strict
from audit.dsse import encode_envelope, parse_envelope, sign_envelope
from audit.envelope_line import plain_envelope
from audit.errors import EnvelopeError

TYPE = "application/vnd.proctor.record+json"
_KEY = SigningKey.generate()
_LINE = encode_envelope(sign_envelope(TYPE, b'{"event":{"type":"x"}}', _KEY))


def general(line: bytes) -> Any:
    """The general path: parse, check the shape, and require the canonical encoding."""
    try:
        checked = parse_envelope(json.loads(line))
    except (ValueError, EnvelopeError):
        return None
    return checked if encode_envelope(checked) == line else None


def test_a_signed_record_line_takes_the_fast_path() -> None:
    assert plain_envelope(_LINE) is not None
    assert plain_envelope(_LINE) == general(_LINE)


texts = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",))
    | st.sampled_from(['"', "\\", "\x00", "\x1f", "\x7f", "\u2028", "é", "\U0001f600"]),
    max_size=12,
)
signatures = st.lists(st.fixed_dictionaries({"keyid": texts, "sig": texts}), max_size=3)


@settings(max_examples=400)
@given(
    payload=texts | st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode()),
    payload_type=texts | st.just(TYPE),
    sigs=signatures,
)
def test_fast_path_equals_general_path_on_generated_envelopes(
    payload: str, payload_type: str, sigs: list[dict[str, str]]
) -> None:
    value = {"payload": payload, "payloadType": payload_type, "signatures": sigs}
    for line in (
        json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode(),
        json.dumps(value, separators=(",", ":")).encode(),  # \\u escapes: not canonical
        json.dumps(value).encode(),  # whitespace: not canonical
    ):
        fast = plain_envelope(line)
        assert fast is None or fast == general(line)


@settings(max_examples=600)
@given(data=st.data())
def test_fast_path_never_accepts_what_the_general_path_refuses(data: st.DataObject) -> None:
    """Mutations of a real line: every one the fast path reads, the general path reads the
    same way; flipping, inserting or deleting bytes anywhere."""
    line = bytearray(_LINE)
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.integers(0, len(line) - 1))
        action = data.draw(st.sampled_from(["set", "insert", "delete"]))
        byte = data.draw(st.sampled_from([*b'"\\,:{}[] =+/A\x00\x7f\xc3\xa9', 0x80]))
        if action == "set":
            line[where] = byte
        elif action == "insert":
            line.insert(where, byte)
        else:
            del line[where]
    fast = plain_envelope(bytes(line))
    assert fast is None or fast == general(bytes(line))


def old_definition(text: str) -> bytes | None:
    """The previous strict decoder: validating decode, then the canonical re-encoding."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if base64.b64encode(raw).decode("ascii") == text else None


@settings(max_examples=800)
@given(
    text=st.text(st.sampled_from("AQgw+/=\n é-_."), max_size=12)
    | st.binary(max_size=12).map(lambda b: base64.b64encode(b).decode())
)
def test_strict_base64_accepts_exactly_the_canonical_spellings(text: str) -> None:
    try:
        decoded: bytes | None = b64decode_strict(text)
    except ValueError:
        decoded = None
    assert decoded == old_definition(text)
