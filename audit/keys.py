"""Ed25519 signing and public keys, with securesystemslib-compatible key ids.

Auditors must be able to check the evidence with tools we do not ship, so public keys are
published in securesystemslib's JSON form and identified by securesystemslib's default key
id (SHA-256 of the canonical key dict). The private key lives in one PEM file that only its
owner may read; a key file others can read is refused rather than used, because a leaked
audit key lets anyone forge evidence.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, final

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from nacl.bindings import crypto_sign_open
from nacl.exceptions import BadSignatureError

from audit.canonical import canonical_json
from audit.errors import InvalidKeyError, KeyFileError
from audit.fsutil import fsync_dir, write_all

KEYTYPE: Final = "ed25519"
SCHEME: Final = "ed25519"
_PUBLIC_HEX_RE: Final = re.compile(r"[0-9a-f]{64}")
_SIGNATURE_LENGTH: Final = 64


@final
class PublicKey:
    """An Ed25519 public key that knows its securesystemslib key id."""

    __slots__ = ("_keyid", "_raw")

    def __init__(self, raw: bytes) -> None:
        """Wrap the 32 raw public key bytes (RFC 8032 encoding)."""
        if len(raw) != 32:
            raise InvalidKeyError(f"Ed25519 public key must be 32 bytes, got {len(raw)}")
        try:
            Ed25519PublicKey.from_public_bytes(raw)  # refuses what OpenSSL cannot decode
        except ValueError as exc:
            raise InvalidKeyError(f"not an Ed25519 public key: {exc}") from exc
        self._raw = bytes(raw)
        self._keyid = hashlib.sha256(canonical_json(self.to_securesystemslib_dict())).hexdigest()

    @classmethod
    def from_securesystemslib_dict(cls, data: Mapping[str, Any]) -> PublicKey:
        """Build a key from ``{"keytype", "scheme", "keyval": {"public": hex}}``.

        Anything else (other key types, extra fields, upper-case or short hex) is refused
        with `InvalidKeyError`: extra fields would change the key id securesystemslib
        computes, so accepting them would let two tools disagree about which key is which.
        """
        if not isinstance(data, Mapping):
            raise InvalidKeyError(f"public key must be a JSON object, got {type(data).__name__}")
        expected = {"keytype", "scheme", "keyval"}
        if set(data) != expected:
            raise InvalidKeyError(
                f"public key must have exactly the fields {sorted(expected)}, "
                f"got {sorted(map(str, data))}"
            )
        if data["keytype"] != KEYTYPE or data["scheme"] != SCHEME:
            raise InvalidKeyError(
                f"only keytype/scheme {KEYTYPE}/{SCHEME} is supported, "
                f"got {data['keytype']!r}/{data['scheme']!r}"
            )
        keyval = data["keyval"]
        if not isinstance(keyval, Mapping) or set(keyval) != {"public"}:
            raise InvalidKeyError('keyval must be an object with exactly the field "public"')
        public = keyval["public"]
        if not isinstance(public, str) or not _PUBLIC_HEX_RE.fullmatch(public):
            raise InvalidKeyError("keyval.public must be 64 lower-case hex characters")
        return cls(bytes.fromhex(public))

    @property
    def raw(self) -> bytes:
        """The 32 raw public key bytes."""
        return self._raw

    @property
    def keyid(self) -> str:
        """Lower-case hex SHA-256 of the canonical securesystemslib key dict."""
        return self._keyid

    def to_securesystemslib_dict(self) -> dict[str, Any]:
        """The key as securesystemslib serialises it (no key id inside)."""
        return {"keytype": KEYTYPE, "scheme": SCHEME, "keyval": {"public": self._raw.hex()}}

    def verify(self, signature: bytes, data: bytes) -> bool:
        """True if `signature` is a valid Ed25519 signature of `data` by this key.

        Checked by libsodium, not OpenSSL (which signs): libsodium also refuses public keys
        and signature points of small order and non-canonical point encodings, so it
        accepts a subset of what OpenSSL accepts. That matters: OpenSSL accepts the
        signature (identity point, 0) under the identity public key for every message, a
        "key" that signs anything. It is also about twice as fast (bench/audit_throughput:
        one verification per record is most of a bundle's verification time).
        """
        if len(signature) != _SIGNATURE_LENGTH:
            return False
        try:
            crypto_sign_open(signature + data, self._raw)
        except BadSignatureError:
            return False
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and other._raw == self._raw

    def __hash__(self) -> int:
        return hash(self._raw)

    def __repr__(self) -> str:
        return f"PublicKey(keyid={self._keyid[:16]}...)"


@final
class SigningKey:
    """An Ed25519 private key used to sign audit records and bundle manifests."""

    __slots__ = ("_private", "_public")

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private = private_key
        raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self._public = PublicKey(raw)

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh random key (for tests, benchmarks and first start)."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, path: Path) -> SigningKey:
        """Load the PEM (PKCS#8, unencrypted) key at `path`, creating it if it is absent.

        A new key is written with mode 0600 in one step (exclusive create of a temporary
        file, fsync, then a hard link to the final name), so no other process ever sees a
        half-written or world-readable key; the parent directory is created with mode 0700.
        If two processes race to create the key, both end up using the one that won.
        """
        try:
            return _load_key_file(path)
        except FileNotFoundError:
            pass
        created = cls.generate()
        if _create_key_file(path, created._pem()):
            return created
        return _load_key_file(path)

    @property
    def public_key(self) -> PublicKey:
        """The matching public key."""
        return self._public

    def sign(self, data: bytes) -> bytes:
        """The 64-byte Ed25519 signature of `data`."""
        return self._private.sign(data)

    def _pem(self) -> bytes:
        return self._private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def __repr__(self) -> str:
        return f"SigningKey(keyid={self._public.keyid[:16]}...)"


def _load_key_file(path: Path) -> SigningKey:
    """Read and check a key file; FileNotFoundError passes through for load_or_create."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise KeyFileError(f"cannot open key file {path}: {exc.strerror or exc}") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise KeyFileError(f"key file {path} is not a regular file")
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            raise KeyFileError(
                f"key file {path} has mode {mode:04o}: it must not be readable or writable "
                f"by group or others; run `chmod 600 {path}` if the key was not exposed, "
                "otherwise replace it"
            )
        with os.fdopen(fd, "rb", closefd=False) as handle:
            pem = handle.read()
    finally:
        os.close(fd)
    try:
        private = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"key file {path} is not an unencrypted PKCS#8 PEM key: {exc}") from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise KeyFileError(f"key file {path} holds a {type(private).__name__}, not Ed25519")
    return SigningKey(private)


def replace_key_file(path: Path, key: SigningKey) -> None:
    """Make `key` the key stored at `path`, replacing the key there, in one atomic step.

    For rotation: the new key is written and synced under a temporary name with mode 0600
    and then renamed over `path`, so a crash leaves either the old key or the new one,
    never a torn file. The old private key is gone afterwards; keep its public key first
    (see `audit.keyring`), or the records it signed can no longer be checked.
    """
    parent = path.parent
    try:
        parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = parent / f".{path.name}.{os.getpid()}.{os.urandom(6).hex()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise KeyFileError(f"cannot write key file {path}: {exc.strerror or exc}") from exc
    try:
        try:
            os.fchmod(fd, 0o600)
            write_all(fd, key._pem())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        fsync_dir(parent)
    except OSError as exc:
        raise KeyFileError(f"cannot write key file {path}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _create_key_file(path: Path, pem: bytes) -> bool:
    """Write `pem` to `path` with mode 0600; False if another process created it first."""
    parent = path.parent
    try:
        parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = parent / f".{path.name}.{os.getpid()}.{os.urandom(6).hex()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise KeyFileError(f"cannot create key file {path}: {exc.strerror or exc}") from exc
    try:
        try:
            os.fchmod(fd, 0o600)  # the umask may have removed bits; make it exactly 0600
            write_all(fd, pem)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        fsync_dir(parent)
        return True
    except OSError as exc:
        raise KeyFileError(f"cannot write key file {path}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
