"""Standard, padded base64 with a strict decoder.

Python's decoder ignores non-zero padding bits and (without ``validate``) junk characters,
so two different strings can decode to the same bytes. In evidence that would let a
record line change while its signature still verifies; the strict decoder accepts only
the one canonical spelling of each byte string.
"""

from __future__ import annotations

import base64
import binascii


def b64encode(data: bytes) -> str:
    """Encode bytes as standard base64 with padding (RFC 4648 section 4)."""
    return base64.b64encode(data).decode("ascii")


def b64decode_strict(text: str) -> bytes:
    """Decode canonical standard base64; raise `ValueError` for any other spelling."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not valid base64: {exc}") from exc
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError("base64 is not in canonical form (non-zero padding bits)")
    return raw
