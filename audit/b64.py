"""Standard, padded base64 with a strict decoder.

Python's decoder ignores non-zero padding bits and (without ``validate``) junk characters,
so two different strings can decode to the same bytes. In evidence that would let a
record line change while its signature still verifies; the strict decoder accepts only
the one canonical spelling of each byte string.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable
from functools import partial


def b64encode(data: bytes) -> str:
    """Encode bytes as standard base64 with padding (RFC 4648 section 4)."""
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def b64decode_strict(text: str) -> bytes:
    """Decode canonical standard base64; raise `ValueError` for any other spelling.

    The re-encoding comparison alone defines what is accepted: `text` passes exactly when
    it is the encoding of the bytes it decodes to, that is, the one canonical spelling.
    Strict mode only makes most garbage fail early with a clearer message. (This runs
    twice per record in verification, so it avoids `base64.b64decode(validate=True)`,
    whose extra regular-expression pass over the text cost as much as the decoding.)
    """
    try:
        raw = binascii.a2b_base64(text, strict_mode=True)
    except ValueError as exc:  # binascii.Error, or a str that is not ASCII
        raise ValueError(f"not valid base64: {exc}") from exc
    if binascii.b2a_base64(raw, newline=False) != text.encode("ascii"):
        raise ValueError("base64 is not in canonical form (non-zero padding bits)")
    return raw


def decode_canonical(text: bytes) -> bytes | None:
    """The bytes whose standard padded base64 is exactly `text`; None if there are none.

    The verifier's fast path decodes two base64 fields per record, and the standard
    library's decoder is the larger part of that (about 2.5 us for a 650-character
    payload here); pybase64 (SIMD, installed with chromadb) takes about a third of it and is
    used when present. Strictness never depends on the decoder: whatever it returns is
    accepted only if re-encoding it gives `text` back, and then `text` is the one canonical
    spelling of those bytes, which any correct decoder maps to them.
    """
    try:
        raw = _decode(text)
    except ValueError:  # binascii.Error
        return None
    if binascii.b2a_base64(raw, newline=False) != text:
        return None
    return raw


def _stdlib_decode(text: bytes) -> bytes:
    return binascii.a2b_base64(text, strict_mode=True)


_decode: Callable[[bytes], bytes]
try:
    from pybase64 import b64decode as _simd_decode
except ImportError:  # not installed: the standard library's decoder
    _decode = _stdlib_decode
else:
    _decode = partial(_simd_decode, validate=True)  # no Python frame per call
