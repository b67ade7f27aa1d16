"""Ed25519 verification that accepts exactly what libsodium accepts, in less time.

Verification throughput is bounded by the Ed25519 check of every record. libsodium's
(ref10) verify costs about 85 us here; ed25519-dalek, reached through `solders` (the only
wheel on PyPI that binds it for this platform), does the same work in about 55 us.
Implementations of Ed25519 disagree at the edges (Chalkias, Garillot and Nikolaenko,
"Taming the many EdDSAs", 2020), and an auditor's verdict must not depend on which library
ran, so dalek is asked only where the two provably agree, and libsodium decides the rest:

libsodium (non-compat build, as bundled with PyNaCl) rejects a signature ``R || S`` unless
S < L, R is not one of the small-order encodings, and the key A is canonical and not of
small order; it then recomputes ``[S]B - [k]A`` with ``k = SHA-512(R || A || M) mod L``
and accepts when that point's canonical encoding equals R byte for byte (the cofactorless
equation). dalek's ``verify`` and ``verify_strict`` compute the same k and the same point,
and compare it with R (as bytes, or as points after decompressing R); they differ from
libsodium only on non-canonical R, small-order R or A, and non-canonical S. A signature
is "usual" when none of those holds (checked below from the bytes, with libsodium's own
bounds), and for a usual signature and usual key both libraries decide by the identical
equation. So:

- usual signature, usual key, dalek accepts: accepted (libsodium would too);
- anything else, including every signature dalek rejects: libsodium decides.

A refusal is therefore always libsodium's. Honest signatures are usual with probability
1 - 2^-120 or so, and libsodium runs only for the rare others and for bad signatures.
tests/audit/test_ed25519_fast.py checks the claim on the Wycheproof vectors, on generated
edge cases (each small-order R, non-canonical R and S, S + L) and on random mutations.
Without `solders` installed every check is libsodium's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError

Verifier = Callable[[bytes, bytes], bool]  # (signature, message) -> accepted

_P: Final = 2**255 - 19  # the field prime
_L: Final = 2**252 + 27742317777372353535851937790883648493  # the group order
_Y_MASK: Final = 2**255 - 1  # the encoding's low 255 bits: y (the top bit is x's sign)
# The y values libsodium's ge25519_has_small_order refuses, whatever the sign bit: the
# eight points of order 1, 2, 4 and 8, and the non-canonical spellings p, p + 1 of 0 and 1.
_SMALL_ORDER_Y: Final = frozenset(
    (
        0,
        1,
        2707385501144840649318225287225658788936804267575313519463743609750303402022,
        55188659117513257062467267217118295137698188065244968500265048394206261417927,
        _P - 1,
        _P,
        _P + 1,
    )
)
# First bytes (little-endian, so y's low byte) of every encoding that is small order or
# not canonical (y >= p means y's low byte is 0xed..0xff): any other R is usual at a glance.
_SUSPECT_FIRST_BYTES: Final = frozenset(
    {y.to_bytes(32, "little")[0] for y in _SMALL_ORDER_Y} | set(range(0xED, 0x100))
)
_S_TOP_BYTE_BELOW_L: Final = 0x10  # S < 2^252 <= L whenever the top byte is below this


def is_usual_point(encoding: bytes) -> bool:
    """Whether libsodium takes this 32-byte point encoding as canonical and not of small
    order (`ge25519_is_canonical`, `ge25519_has_small_order`)."""
    y = int.from_bytes(encoding, "little") & _Y_MASK
    return y < _P and y not in _SMALL_ORDER_Y


def is_usual_signature(signature: bytes) -> bool:
    """Whether a 64-byte signature has S < L and an R that `is_usual_point`."""
    top = signature[63]
    if top >= _S_TOP_BYTE_BELOW_L and (
        top > _S_TOP_BYTE_BELOW_L or int.from_bytes(signature[32:], "little") >= _L
    ):
        return False
    return signature[0] not in _SUSPECT_FIRST_BYTES or is_usual_point(signature[:32])


def libsodium_verifier(public_key: bytes) -> Verifier:
    """libsodium's verdict for signatures by `public_key` (32 raw bytes)."""

    def verify(signature: bytes, message: bytes) -> bool:
        try:
            crypto_sign_open(signature + message, public_key)
        except BadSignatureError:
            return False
        return True

    return verify


def key_verifier(public_key: bytes) -> Verifier:
    """The fastest verifier for `public_key` whose verdicts are libsodium's (module doc)."""
    libsodium = libsodium_verifier(public_key)
    if len(public_key) != 32 or not is_usual_point(public_key):
        return libsodium
    try:
        from solders.pubkey import Pubkey
        from solders.signature import Signature
    except ImportError:
        return libsodium
    key = Pubkey.from_bytes(public_key)
    signature_from_bytes = Signature.from_bytes

    def verify(signature: bytes, message: bytes) -> bool:
        if (
            len(signature) == 64
            and is_usual_signature(signature)
            and signature_from_bytes(signature).verify(key, message)
        ):
            return True
        return libsodium(signature, message)

    return verify


__all__ = ["Verifier", "is_usual_point", "is_usual_signature", "key_verifier", "libsodium_verifier"]
