"""RFC 8785 (JSON Canonicalization Scheme) serialisation.

Signatures and digests are computed over bytes, so every party must turn the same JSON
value into the same bytes. RFC 8785 fixes key order (UTF-16 code units), number formatting
(ECMAScript) and string escaping; the `rfc8785` package implements it and is checked
against the reference test vectors in tests/audit/test_canonical.py.

`rfc8785` is pure Python and was the largest cost of writing a record (about 40% of a
batched append), so values that contain no floats go through the standard library's C JSON
encoder instead. For such values the two agree byte for byte (string escaping is the same,
integers are plain decimals, and code-point key order equals UTF-16 order unless a key
holds a character beyond U+FFFF, which takes the slow path). A property test compares the
two paths on generated values.

Integers must lie within +-(2**53 - 1) (I-JSON): larger ones would be rounded by every
JavaScript reader, so an event carrying, say, nanosecond timestamps must send them as
strings. One consequence: a float of 2**53 or more is written without exponent below 1e21
(1e20 becomes ``100000000000000000000``), which Python's json module parses back as an int
that this function then refuses; parse such text with ``parse_int`` mapping large integers
to float if it has to be canonicalised again.
"""

from __future__ import annotations

import json
from typing import Final

import rfc8785

from audit.errors import CanonicalizationError

_SAFE_INTEGER: Final = 2**53 - 1
_encode_plain = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
).encode


def canonical_json(value: object) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of a JSON-compatible value.

    Raises `CanonicalizationError` for values JSON cannot represent exactly (NaN,
    infinities, integers outside +-(2**53 - 1), non-string keys, lone surrogates, other
    Python types), because silently approximating them would make two writers disagree.
    """
    try:
        if _is_plain(value):
            try:
                return _encode_plain(value).encode("utf-8")
            except UnicodeEncodeError:
                pass  # a lone surrogate: the reference implementation reports it
        return rfc8785_canonical(value)
    except RecursionError as exc:
        raise CanonicalizationError("value is nested too deeply to canonicalise") from exc


def rfc8785_canonical(value: object) -> bytes:
    """The reference path: the `rfc8785` package, for every value (floats included)."""
    try:
        # Any object is accepted here on purpose: rfc8785 rejects what JSON cannot express.
        return rfc8785.dumps(value)  # type: ignore[arg-type]
    except (rfc8785.CanonicalizationError, TypeError, RecursionError) as exc:
        raise CanonicalizationError(f"value has no RFC 8785 canonical form: {exc}") from exc


def _is_plain(value: object) -> bool:
    """True if the C encoder's output for `value` is its RFC 8785 form (see module doc).

    Exact types only: subclasses (IntEnum, StrEnum, OrderedDict, ...) take the slow path.
    """
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if isinstance(value, int) and kind is int:
        return -_SAFE_INTEGER <= value <= _SAFE_INTEGER
    if isinstance(value, dict) and kind is dict:
        for key, item in value.items():
            if type(key) is not str or not (key.isascii() or max(key) <= "\uffff"):
                return False
            if not _is_plain(item):
                return False
        return True
    if isinstance(value, list | tuple) and (kind is list or kind is tuple):
        return all(_is_plain(item) for item in value)
    return False
