"""The payload fast path (audit.payload_fast) against the pydantic model it stands in for.

Its claim: whenever it accepts a payload, the model accepts it too and holds the same
values; and it accepts payloads of the usual shape (else it would be no fast path). The
payloads are generated valid ones, and valid ones with one field replaced by an arbitrary
JSON value, a field dropped or added, or the text edited (duplicate keys, whitespace,
non-JSON numbers, a trailing newline inside a digest).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from audit.payload_fast import plain_payload
from audit.records import RecordPayload

_HEX = st.text("0123456789abcdef", min_size=64, max_size=64)
_TIMESTAMP = st.datetimes(min_value=datetime(1000, 1, 1)).map(
    lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def valid_payloads(draw: st.DrawFn) -> dict[str, Any]:
    session_seq = draw(st.integers(min_value=0, max_value=2**70))
    event = draw(st.dictionaries(st.text(max_size=6), _JSON, max_size=3))
    event["type"] = draw(st.text(min_size=1, max_size=20))
    return {
        "seq": draw(st.integers(min_value=1, max_value=2**70)),
        "session_id": draw(st.text(min_size=1, max_size=20)),
        "session_seq": session_seq,
        "prev": None if session_seq == 0 else draw(_HEX),
        "policy": {
            "id": draw(st.text(min_size=1, max_size=10)),
            "version": draw(st.integers(min_value=1, max_value=2**40)),
            "digest": draw(_HEX),
        },
        "timestamp": draw(_TIMESTAMP),
        "event": event,
    }


_FIELD = st.sampled_from(
    ["seq", "session_id", "session_seq", "prev", "policy", "timestamp", "event", "extra"]
)
_TEXT_EDITS = [
    ('"seq":', '"seq":1,"seq":'),
    ('"session_seq":', '"session_seq":0,"session_seq":'),
    (":", ": "),
    ('"version":', '"version":1.0,"version":'),
    ('"digest":"', '"digest":"\\n'),
    ('"seq":', '"seq":NaN,"x":'),
    ('"prev":"', '"prev":"a\\n'),
    ('"type":"', '"type":"\\u0000'),
    ("}", ',"seq":true}'),
]


@st.composite
def mutated_payloads(draw: st.DrawFn) -> bytes:
    payload = draw(valid_payloads())
    kind = draw(st.sampled_from(["replace", "drop", "policy", "event", "text"]))
    field = draw(_FIELD)
    if kind == "replace":
        payload[field] = draw(_JSON)
    elif kind == "drop":
        payload.pop(field, None)
    elif kind == "policy":
        payload["policy"][draw(st.sampled_from(["id", "version", "digest", "x"]))] = draw(_JSON)
    elif kind == "event":
        payload["event"]["type"] = draw(_JSON)
    text = json.dumps(payload, separators=(",", ":"), sort_keys=draw(st.booleans()))
    if kind == "text":
        old, new = draw(st.sampled_from(_TEXT_EDITS))
        text = text.replace(old, new, 1)
    return text.encode("utf-8", "surrogatepass")


def _agrees(payload: bytes) -> None:
    """Whatever the fast path accepts, the model accepts with the same values."""
    fast = plain_payload(payload)
    if fast is None:
        return
    model = RecordPayload.model_validate_json(payload)  # raises if the claim is false
    assert fast.seq == model.seq
    assert fast.session_id == model.session_id
    assert fast.session_seq == model.session_seq
    assert fast.prev == model.prev
    assert fast.event == model.event
    assert json.dumps(fast.event, sort_keys=True) == json.dumps(model.event, sort_keys=True)


@settings(max_examples=400, deadline=None)
@given(valid_payloads(), st.booleans())
def test_valid_payloads_take_the_fast_path_with_the_models_values(
    payload: dict[str, Any], sort: bool
) -> None:
    encoded = json.dumps(payload, separators=(",", ":"), sort_keys=sort).encode()
    assert plain_payload(encoded) is not None
    _agrees(encoded)


@settings(max_examples=1500, deadline=None)
@given(mutated_payloads())
def test_fast_path_accepts_only_what_the_model_accepts(payload: bytes) -> None:
    _agrees(payload)
    try:
        RecordPayload.model_validate_json(payload)
    except ValidationError:
        assert plain_payload(payload) is None


def test_fast_path_leaves_non_json_and_odd_shapes_to_the_model() -> None:
    for text in (b"", b"{", b"[]", b'{"seq":NaN}', b"\xff", b"[" * 5000):
        assert plain_payload(text) is None
