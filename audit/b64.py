"""Standard, padded base64 with a strict decoder.

Python's decoder ignores non-zero padding bits and (without ``validate``) junk characters,
so two different strings can decode to the same bytes. In evidence that would let a
record line change while its signature still verifies; the strict decoder accepts only
the one canonical spelling of each byte string.
"""

from __future__ import annotations

import binascii


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
