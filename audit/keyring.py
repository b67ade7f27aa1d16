"""Audit key rotation: one current signing key, and the public halves of retired ones.

Records are kept for years and a signing key should not be: it is replaced when it may
have leaked, when staff with access leave, or on a schedule. Records signed before a
rotation must keep verifying, so rotation keeps the retired key's *public* key, in
securesystemslib JSON, as ``<keys folder>/retired/<keyid>.pub.json`` next to the private
key file, and exports include every public key that signed an exported record. The
retired private key is destroyed (replaced in place), so it can sign nothing more.

The order of the steps makes a crash harmless: the old public key is made durable
before the private key is replaced, so at worst the current key is also listed as
retired, which changes nothing about what verifies.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from audit.errors import InvalidKeyError, KeyFileError
from audit.fsutil import fsync_dir, write_all
from audit.keys import PublicKey, SigningKey, replace_key_file

RETIRED_DIR_NAME: Final = "retired"
PUBLIC_KEY_SUFFIX: Final = ".pub.json"


def retired_keys_dir(signing_key_path: Path) -> Path:
    """Where the retired public keys of the key at `signing_key_path` are kept."""
    return signing_key_path.parent / RETIRED_DIR_NAME


def public_key_json(key: PublicKey) -> bytes:
    """A public key file's bytes: securesystemslib JSON, sorted keys, newline-terminated."""
    text = json.dumps(key.to_securesystemslib_dict(), indent=2, sort_keys=True)
    return (text + "\n").encode("ascii")


def load_retired_keys(folder: Path) -> list[PublicKey]:
    """The retired public keys in `folder` (none if it does not exist), by key id.

    Every ``*.pub.json`` file must hold a valid key whose id is its file name; anything
    else raises `KeyFileError` naming the file, because quietly skipping a retired key
    would make the records it signed unexportable without saying why.
    """
    try:
        entries = sorted(folder.iterdir())
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise KeyFileError(f"cannot list retired keys in {folder}: {exc.strerror or exc}") from exc
    keys: list[PublicKey] = []
    for entry in entries:
        if not entry.name.endswith(PUBLIC_KEY_SUFFIX) or entry.name.startswith("."):
            continue
        try:
            key = PublicKey.from_securesystemslib_dict(json.loads(entry.read_bytes()))
        except (OSError, ValueError, RecursionError, InvalidKeyError) as exc:
            raise KeyFileError(
                f"retired key file {entry} is not a usable public key: {exc}"
            ) from exc
        stem = entry.name.removesuffix(PUBLIC_KEY_SUFFIX)
        if key.keyid != stem:
            raise KeyFileError(f"retired key file {entry} holds key {key.keyid}, not {stem}")
        keys.append(key)
    return keys


def retire_public_key(folder: Path, key: PublicKey) -> Path:
    """Keep `key` as ``folder/<keyid>.pub.json`` (durably; again is harmless)."""
    target = folder / f"{key.keyid}{PUBLIC_KEY_SUFFIX}"
    data = public_key_json(key)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = folder / f".{target.name}.{os.getpid()}.{os.urandom(6).hex()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        try:
            write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
        fsync_dir(folder)
    except OSError as exc:
        raise KeyFileError(f"cannot keep retired key in {folder}: {exc.strerror or exc}") from exc
    return target


@dataclass(frozen=True, slots=True)
class Rotation:
    """What a rotation did."""

    retired: PublicKey
    current: PublicKey
    retired_file: Path


def rotate_signing_key(signing_key_path: Path) -> Rotation:
    """Retire the key at `signing_key_path` and put a new random key in its place.

    The key must exist (a service creates it on first start; there is nothing to rotate
    before). A running service keeps signing with the key it loaded until it restarts.
    Raises `KeyFileError`.
    """
    folder = retired_keys_dir(signing_key_path)
    if not signing_key_path.exists():
        raise KeyFileError(
            f"no audit signing key at {signing_key_path}: the service creates one when it "
            "first starts, so there is nothing to rotate yet"
        )
    with _rotation_lock(signing_key_path.parent):
        old = SigningKey.load_or_create(signing_key_path)
        retired_file = retire_public_key(folder, old.public_key)
        new = SigningKey.generate()
        replace_key_file(signing_key_path, new)
    return Rotation(retired=old.public_key, current=new.public_key, retired_file=retired_file)


@contextmanager
def _rotation_lock(folder: Path) -> Iterator[None]:
    """One rotation at a time in `folder` (two at once could retire a key nobody kept)."""
    try:
        fd = os.open(folder / ".rotation.lock", os.O_WRONLY | os.O_CREAT, 0o600)
    except OSError as exc:
        raise KeyFileError(f"cannot lock {folder} for rotation: {exc.strerror or exc}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
