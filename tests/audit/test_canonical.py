"""RFC 8785 canonical JSON: reference vectors and properties."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import CanonicalizationError, canonical_json
from audit.canonical import rfc8785_canonical
from tests.audit.helpers import VECTORS

JCS_DIR = VECTORS / "jcs_rfc8785"


def _jcs_cases() -> list[Path]:
    return sorted(JCS_DIR.glob("in_*.json")) if JCS_DIR.is_dir() else []


@pytest.mark.skipif(not JCS_DIR.is_dir(), reason=f"JCS test vectors not found at {JCS_DIR}")
def test_vectors_are_present() -> None:
    # Guards the parametrised test below against silently running zero cases.
    assert len(_jcs_cases()) >= 6


@pytest.mark.skipif(not JCS_DIR.is_dir(), reason=f"JCS test vectors not found at {JCS_DIR}")
@pytest.mark.parametrize("source", _jcs_cases(), ids=lambda p: p.stem)
def test_rfc8785_reference_vectors(source: Path) -> None:
    expected = (JCS_DIR / source.name.replace("in_", "out_", 1)).read_bytes()
    hex_file = JCS_DIR / source.name.replace("in_", "hex_", 1).replace(".json", ".txt")
    assert canonical_json(json.loads(source.read_bytes())) == expected
    if hex_file.exists():
        assert bytes.fromhex("".join(hex_file.read_text().split())) == expected


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    # Floats of 2**53 or more are written without exponent below 1e21 and Python parses
    # them back as integers outside I-JSON's range, which are refused (see canonical.py).
    | st.floats(allow_nan=False, allow_infinity=False).filter(
        lambda f: abs(f) < 2**53 or abs(f) >= 1e21
    )
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def _reordered(value: Any, data: st.DataObject) -> Any:
    """The same JSON value with every object's insertion order shuffled."""
    if isinstance(value, dict):
        items = data.draw(st.permutations(list(value.items())))
        return {k: _reordered(v, data) for k, v in items}
    if isinstance(value, list):
        return [_reordered(v, data) for v in value]
    return value


@settings(max_examples=60)
@given(value=json_values, data=st.data())
def test_key_order_does_not_matter(value: Any, data: st.DataObject) -> None:
    assert canonical_json(_reordered(value, data)) == canonical_json(value)


@settings(max_examples=60)
@given(value=json_values)
def test_parse_then_canonicalise_is_idempotent(value: Any) -> None:
    once = canonical_json(value)
    assert canonical_json(json.loads(once)) == once
    assert json.loads(once) == json.loads(json.dumps(value))  # same value, only re-spelled


def test_known_spellings() -> None:
    expected = '{"a":[true,null,"é"],"b":1}'.encode()
    assert canonical_json({"b": 1, "a": [True, None, "é"]}) == expected
    assert canonical_json(1e21) == b"1e+21"
    assert canonical_json(-0.0) == b"0"
    # RFC 8785 sorts by UTF-16 code units: U+10000 (surrogates D800..) sorts before U+FB33.
    utf16_order = '{"\U00010000":2,"\ufb33":1}'.encode()
    assert canonical_json({"\ufb33": 1, "\U00010000": 2}) == utf16_order


@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), 2**53, -(2**60), {1: "x"}, {"a": {1, 2}}, "\ud800", object()],
)
def test_values_without_a_canonical_form_are_refused(value: object) -> None:
    with pytest.raises(CanonicalizationError):
        canonical_json(value)


# Values the fast path takes (no floats) with the characters where encoders differ most:
# controls, quotes, backslashes, DEL, U+2028, non-BMP, and keys beyond U+FFFF.
tricky_text = st.text(
    alphabet=st.sampled_from(
        ['"', "\\", "\x00", "\x1f", "\x7f", "\u2028", "é", "\ufb33", "\U00010000", "a", "/"]
    )
    | st.characters(exclude_categories=["Cs"]),
    max_size=8,
)
plain_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | tricky_text,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(tricky_text, inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200)
@given(value=plain_values)
def test_fast_path_equals_the_reference_implementation(value: Any) -> None:
    assert canonical_json(value) == rfc8785_canonical(value)


def test_exact_types_only_on_the_fast_path() -> None:
    class Number(int):
        pass

    assert canonical_json({"n": Number(3), "k": {"\U00010000": 1, "\ufb33": 2}}) == (
        '{"k":{"\U00010000":1,"\ufb33":2},"n":3}'.encode()
    )


def test_circular_value_is_refused() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(CanonicalizationError):
        canonical_json(loop)


def test_fast_path_is_taken_only_where_it_is_exact() -> None:
    from audit.canonical import _is_plain

    assert _is_plain({"type": "UtteranceFinal", "turn": 3, "tags": ["a", None, True]})
    assert not _is_plain({"score": 0.5})  # floats need ECMAScript formatting
    assert not _is_plain({"n": 2**53})  # out of range: the reference path refuses it
    assert not _is_plain({"\U00010000": 1})  # UTF-16 key order differs
    assert not _is_plain({1: "x"})
