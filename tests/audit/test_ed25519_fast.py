"""`audit.ed25519_fast` gives libsodium's verdict on every signature, asking dalek first.

The edge cases are those on which Ed25519 libraries are known to disagree: small-order
and mixed-order R, non-canonical spellings of R, S not reduced, small-order keys.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.bindings import crypto_sign_seed_keypair

import audit.ed25519_fast as ed25519_fast
from audit.ed25519_fast import (
    is_usual_point,
    is_usual_signature,
    key_verifier,
    libsodium_verifier,
)
from tests.audit import edwards
from tests.audit.test_keys import WYCHEPROOF

TORSION = edwards.torsion_points()
IDENTITY_ENCODING = edwards.encode(edwards.IDENTITY)
NONZERO_TORSION = [t for t in TORSION if edwards.encode(t) != IDENTITY_ENCODING]
SEEDS = st.binary(min_size=32, max_size=32)
MESSAGES = st.binary(max_size=300)
NONCES = st.integers(min_value=1, max_value=edwards.L - 1)


def public_key(seed: bytes) -> bytes:
    public, _ = crypto_sign_seed_keypair(seed)
    return public


def honest_signature(seed: bytes, nonce: int, message: bytes) -> bytes:
    r = edwards.encode(edwards.multiply(nonce, edwards.BASE))
    return edwards.sign_with_nonce_point(seed, r, nonce, message)


def spellings(point: edwards.Point) -> list[bytes]:
    """Every 32-byte string that decodes to `point`: both sign bits, y and y + p."""
    canonical = int.from_bytes(edwards.encode(point), "little")
    y, sign = canonical & (2**255 - 1), canonical >> 255
    ys = [y] + ([y + edwards.P] if y + edwards.P < 2**255 else [])
    return [(v | s << 255).to_bytes(32, "little") for v in ys for s in (sign, 1 - sign)]


def assert_libsodium_verdict(public: bytes, signature: bytes, message: bytes) -> bool:
    ours = key_verifier(public)(signature, message)
    assert ours == libsodium_verifier(public)(signature, message)
    return ours


def test_the_torsion_points_and_only_they_are_unusual_among_valid_encodings() -> None:
    assert len(TORSION) == 8
    assert len(NONZERO_TORSION) == 7
    for point in TORSION:
        assert edwards.encode(edwards.multiply(8, point)) == edwards.encode(edwards.IDENTITY)
        for spelling in spellings(point):
            assert not is_usual_point(spelling)
    for nonce in (1, 2, 12345, edwards.L - 1):
        for mixed in [edwards.multiply(nonce, edwards.BASE)] + [
            edwards.add(edwards.multiply(nonce, edwards.BASE), t) for t in NONZERO_TORSION
        ]:
            assert is_usual_point(edwards.encode(mixed))


@given(st.integers(min_value=edwards.P, max_value=2**255 - 1), st.booleans())
def test_non_canonical_encodings_are_unusual(y: int, sign: bool) -> None:
    assert not is_usual_point((y | int(sign) << 255).to_bytes(32, "little"))


@given(st.integers(min_value=0, max_value=2**256 - 1))
def test_usual_signature_needs_s_below_the_group_order(s: int) -> None:
    r = edwards.encode(edwards.multiply(7, edwards.BASE))
    signature = r + s.to_bytes(32, "little")
    assert is_usual_signature(signature) == (s < edwards.L)


@pytest.mark.skipif(not WYCHEPROOF.exists(), reason=f"Wycheproof vectors not found at {WYCHEPROOF}")
def test_wycheproof_verdicts_are_libsodiums() -> None:
    data = json.loads(WYCHEPROOF.read_text())
    checked = 0
    for group in data["testGroups"]:
        public = bytes.fromhex(group["publicKey"]["pk"])
        for case in group["tests"]:
            accepted = assert_libsodium_verdict(
                public, bytes.fromhex(case["sig"]), bytes.fromhex(case["msg"])
            )
            assert accepted == (case["result"] == "valid"), case["tcId"]
            checked += 1
    assert checked == 151


@settings(max_examples=25, deadline=None)
@given(SEEDS, NONCES, MESSAGES)
def test_honest_signatures_are_accepted(seed: bytes, nonce: int, message: bytes) -> None:
    assert assert_libsodium_verdict(
        public_key(seed), honest_signature(seed, nonce, message), message
    )


@settings(max_examples=10, deadline=None)
@given(SEEDS, MESSAGES)
def test_small_order_r_in_every_spelling_is_refused(seed: bytes, message: bytes) -> None:
    # With R the identity and S = k*a, [S]B - [k]A is the identity: the bare cofactorless
    # equation holds, and only libsodium's small-order rule refuses it.
    for point in TORSION:
        for spelling in spellings(point):
            signature = edwards.sign_with_nonce_point(seed, spelling, 0, message)
            assert not assert_libsodium_verdict(public_key(seed), signature, message)


@settings(max_examples=10, deadline=None)
@given(SEEDS, NONCES, MESSAGES)
def test_mixed_order_r_is_refused(seed: bytes, nonce: int, message: bytes) -> None:
    # A cofactored verifier accepts these; libsodium's cofactorless check does not.
    for torsion in NONZERO_TORSION:
        r = edwards.encode(edwards.add(edwards.multiply(nonce, edwards.BASE), torsion))
        signature = edwards.sign_with_nonce_point(seed, r, nonce, message)
        assert not assert_libsodium_verdict(public_key(seed), signature, message)


@settings(max_examples=25, deadline=None)
@given(SEEDS, NONCES, MESSAGES)
def test_unreduced_s_is_refused(seed: bytes, nonce: int, message: bytes) -> None:
    signature = honest_signature(seed, nonce, message)
    s = int.from_bytes(signature[32:], "little")
    for unreduced in (s + edwards.L, s + 2 * edwards.L, s + 15 * edwards.L):
        if unreduced < 2**256:
            mutated = signature[:32] + unreduced.to_bytes(32, "little")
            assert not assert_libsodium_verdict(public_key(seed), mutated, message)


def test_small_order_keys_are_left_to_libsodium() -> None:
    for point in TORSION:
        for spelling in spellings(point):
            verify = key_verifier(spelling)
            # S = 0 with R the identity satisfies the bare equation for a small-order key
            # whenever [k]A is the identity; libsodium refuses the key outright.
            signature = edwards.encode(edwards.IDENTITY) + bytes(32)
            assert not verify(signature, b"message")
            assert verify(signature, b"message") == libsodium_verifier(spelling)(
                signature, b"message"
            )


MUTATIONS: list[Callable[[bytes, bytes, int], tuple[bytes, bytes]]] = [
    lambda sig, msg, i: (
        sig[: i % 64] + bytes([sig[i % 64] ^ 1 << (i % 8)]) + sig[i % 64 + 1 :],
        msg,
    ),
    lambda sig, msg, i: (sig, msg + bytes([i % 256])),
    lambda sig, msg, i: (sig, msg[:-1]),
    lambda sig, msg, i: (sig[32:] + sig[:32], msg),
    lambda sig, msg, i: (sig[:32] + bytes(32), msg),
    lambda sig, msg, i: (bytes(32) + sig[32:], msg),
    lambda sig, msg, i: (sig[:63], msg),
    lambda sig, msg, i: (sig + b"\x00", msg),
]


@settings(max_examples=200, deadline=None)
@given(SEEDS, NONCES, MESSAGES, st.sampled_from(range(len(MUTATIONS))), st.integers(0, 10_000))
def test_mutated_signatures_get_libsodiums_verdict(
    seed: bytes, nonce: int, message: bytes, which: int, where: int
) -> None:
    signature, mutated_message = MUTATIONS[which](
        honest_signature(seed, nonce, message), message, where
    )
    assert_libsodium_verdict(public_key(seed), signature, mutated_message)


@pytest.fixture
def libsodium_calls(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The signed messages libsodium is asked about from here on."""
    calls: list[bytes] = []
    real_open = ed25519_fast.crypto_sign_open

    def counting_open(signed: bytes, key: bytes) -> bytes:
        calls.append(signed)
        return real_open(signed, key)

    monkeypatch.setattr(ed25519_fast, "crypto_sign_open", counting_open)
    return calls


def test_dalek_alone_accepts_honest_signatures_and_libsodium_judges_refusals(
    libsodium_calls: list[bytes],
) -> None:
    pytest.importorskip("solders")
    seed = os.urandom(32)
    signature = honest_signature(seed, 99, b"record")
    verify = key_verifier(public_key(seed))
    assert verify(signature, b"record")
    assert libsodium_calls == []
    assert not verify(signature, b"recorD")
    assert len(libsodium_calls) == 1


def test_without_solders_every_verdict_is_libsodiums(
    monkeypatch: pytest.MonkeyPatch, libsodium_calls: list[bytes]
) -> None:
    monkeypatch.setitem(sys.modules, "solders.signature", None)
    seed = os.urandom(32)
    signature = honest_signature(seed, 5, b"record")
    verify = key_verifier(public_key(seed))
    assert verify(signature, b"record")
    assert not verify(signature, b"Record")
    assert len(libsodium_calls) == 2
