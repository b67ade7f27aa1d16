"""Ed25519 keys: Wycheproof vectors, securesystemslib key ids, and the private key file."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st
from securesystemslib.signer import SSlibKey  # type: ignore[attr-defined]  # not in its __all__

from audit import InvalidKeyError, KeyFileError, PublicKey, SigningKey
from tests.audit.helpers import VECTORS

WYCHEPROOF = VECTORS / "ed25519_wycheproof" / "ed25519_test.json"


def _wycheproof_cases() -> list[tuple[str, str, str, str, int]]:
    if not WYCHEPROOF.exists():
        return []
    data = json.loads(WYCHEPROOF.read_text())
    return [
        (group["publicKey"]["pk"], case["msg"], case["sig"], case["result"], case["tcId"])
        for group in data["testGroups"]
        for case in group["tests"]
    ]


@pytest.mark.skipif(not WYCHEPROOF.exists(), reason=f"Wycheproof vectors not found at {WYCHEPROOF}")
def test_wycheproof_verdicts() -> None:
    cases = _wycheproof_cases()
    assert len(cases) == 151
    wrong = []
    for pk, msg, sig, result, tc_id in cases:
        key = PublicKey.from_securesystemslib_dict(
            {"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": pk}}
        )
        accepted = key.verify(bytes.fromhex(sig), bytes.fromhex(msg))
        if accepted != (result == "valid"):
            wrong.append((tc_id, result))
    assert wrong == []
    assert sum(1 for case in cases if case[3] == "invalid") == 63


def test_sign_verify_roundtrip_and_tamper() -> None:
    key = SigningKey.generate()
    signature = key.sign(b"evidence")
    assert len(signature) == 64
    assert key.public_key.verify(signature, b"evidence")
    assert not key.public_key.verify(signature, b"evidencE")
    assert not key.public_key.verify(signature[:-1], b"evidence")
    assert not SigningKey.generate().public_key.verify(signature, b"evidence")


def test_keyid_matches_securesystemslib() -> None:
    public = SigningKey.generate().public_key
    # securesystemslib computes its default keyid from the cryptography key object.
    theirs = SSlibKey.from_crypto(Ed25519PublicKey.from_public_bytes(public.raw))
    assert public.keyid == theirs.keyid
    assert public.to_securesystemslib_dict() == {
        "keytype": "ed25519",
        "scheme": "ed25519",
        "keyval": {"public": public.raw.hex()},
    }
    assert theirs.to_dict() == public.to_securesystemslib_dict()


def test_securesystemslib_dict_roundtrip() -> None:
    public = SigningKey.generate().public_key
    again = PublicKey.from_securesystemslib_dict(public.to_securesystemslib_dict())
    assert again == public
    assert again.keyid == public.keyid
    assert hash(again) == hash(public)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(keytype="rsa"), "keytype/scheme"),
        (lambda d: d.update(scheme="ecdsa"), "keytype/scheme"),
        (lambda d: d.update(keyid_hash_algorithms=["sha256"]), "exactly the fields"),
        (lambda d: d.pop("keyval"), "exactly the fields"),
        (lambda d: d["keyval"].update(private="00"), "exactly the field"),
        (lambda d: d["keyval"].update(public=d["keyval"]["public"].upper()), "lower-case hex"),
        (lambda d: d["keyval"].update(public=d["keyval"]["public"][:-2]), "lower-case hex"),
        (lambda d: d.update(keyval="abc"), "exactly the field"),
    ],
)
def test_invalid_securesystemslib_dicts_are_refused(mutate: Any, message: str) -> None:
    data = SigningKey.generate().public_key.to_securesystemslib_dict()
    mutate(data)
    with pytest.raises(InvalidKeyError, match=message):
        PublicKey.from_securesystemslib_dict(data)


def test_non_mapping_and_wrong_length_are_refused() -> None:
    with pytest.raises(InvalidKeyError, match="JSON object"):
        PublicKey.from_securesystemslib_dict(["ed25519"])  # type: ignore[arg-type]
    with pytest.raises(InvalidKeyError, match="32 bytes"):
        PublicKey(b"\x01" * 31)


def test_key_file_is_created_0600_in_a_0700_directory(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "audit" / "signing.pem"
    created = SigningKey.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert [p.name for p in path.parent.iterdir()] == ["signing.pem"]  # no temporary left
    reloaded = SigningKey.load_or_create(path)
    assert reloaded.public_key == created.public_key
    assert created.public_key.verify(reloaded.sign(b"x"), b"x")


def test_key_file_mode_ignores_umask(tmp_path: Path) -> None:
    old = os.umask(0o277)  # would leave the owner without write or read bits
    try:
        SigningKey.load_or_create(tmp_path / "k.pem")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "k.pem").stat().st_mode) == 0o600


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_group_or_other_readable_key_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "signing.pem"
    SigningKey.load_or_create(path)
    path.chmod(mode)
    with pytest.raises(KeyFileError, match=f"mode {mode:04o}.*chmod 600"):
        SigningKey.load_or_create(path)


def test_garbage_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "signing.pem"
    path.write_bytes(b"not a key")
    path.chmod(0o600)
    with pytest.raises(KeyFileError, match="PKCS#8"):
        SigningKey.load_or_create(path)


def test_symlinked_key_file_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real.pem"
    SigningKey.load_or_create(real)
    link = tmp_path / "link.pem"
    link.symlink_to(real)
    with pytest.raises(KeyFileError, match="cannot open"):
        SigningKey.load_or_create(link)


def test_repr_does_not_show_key_material() -> None:
    key = SigningKey.generate()
    assert "PRIVATE" not in repr(key)
    assert key.public_key.keyid[:16] in repr(key)


def test_identity_key_signs_nothing() -> None:
    """(identity point, 0) satisfies the cofactorless equation under the identity key for
    every message, and OpenSSL accepts it; the verifier must not: such a "key" would make
    any record verify."""
    identity = bytes([1]) + bytes(31)
    forged = identity + bytes(32)
    key = PublicKey(identity)
    assert not key.verify(forged, b"any message")
    assert not key.verify(forged, b"")


@settings(max_examples=60, deadline=None)
@given(message=st.binary(max_size=300), flip=st.integers(0, 64 * 8 - 1))
def test_verifier_agrees_with_openssl_on_real_and_corrupted_signatures(
    message: bytes, flip: int
) -> None:
    key = SigningKey.generate()
    openssl = Ed25519PublicKey.from_public_bytes(key.public_key.raw)
    signature = key.sign(message)
    openssl.verify(signature, message)  # raises if OpenSSL disagrees on a genuine one
    assert key.public_key.verify(signature, message)
    corrupted = bytearray(signature)
    corrupted[flip // 8] ^= 1 << (flip % 8)
    assert not key.public_key.verify(bytes(corrupted), message)
    with pytest.raises(InvalidSignature):
        openssl.verify(bytes(corrupted), message)
