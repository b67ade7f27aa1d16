"""C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys.

Checkpoints of the audit log are published as signed notes so that an auditor can check
them with tools nobody here wrote (Go's ``golang.org/x/mod/sumdb/note``, transparency-dev
witnesses): the format is the spec's, byte for byte. A note is its text (ending in a
newline), a blank line, and signature lines ``— <key name> base64(key ID || signature)``.

Opening a note is strict on everything the spec fixes (UTF-8, no control characters but
newline, the signature line syntax), ignores signatures by keys the caller does not
know (the spec requires it: that is how witnesses cosign and keys rotate) and rejects the
note when a known key's signature fails, because a forged signature under a trusted
name means somebody is tampering with the evidence.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Final, final

from audit.b64 import b64decode_strict, b64encode
from audit.errors import AuditError, InvalidKeyError
from audit.keys import PublicKey, SigningKey

ED25519_TYPE: Final = 0x01
"""Signature type identifier byte of Ed25519 in the signed-note spec."""

EM_DASH: Final = "\u2014"
MAX_SIGNATURES: Final = 100
"""Signature lines accepted in one note; the spec asks for a limit of at least 16."""

_KEY_ID_SIZE: Final = 4
_ED25519_SIGNATURE_SIZE: Final = 64
_HEX8_RE: Final = re.compile(r"[0-9a-f]{8}")
_CONTROL_RE: Final = re.compile(r"[\x00-\x09\x0b-\x1f]")


class NoteError(AuditError, ValueError):
    """A signed note (or a verifier key) is malformed or does not verify.

    `reason` is a short stable code so that callers can map failures to their own problem
    codes: ``malformed`` (the note breaks the format), ``verifier-key`` (a verifier key
    string or key name is unusable), ``bad-signature`` (a known key's signature does not
    verify) and ``unverified`` (no signature by a known key).
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def check_key_name(name: str) -> None:
    """Raise `NoteError` unless `name` is a valid key name.

    The spec forbids empty names, Unicode spaces and "+": the name is the first field of
    a ``name+hash+key`` verifier key and is followed by a space in signature lines, so any
    of those would make both encodings ambiguous.
    """
    if not name:
        raise NoteError("verifier-key", "key name must not be empty")
    if "+" in name or any(ch.isspace() for ch in name):
        raise NoteError("verifier-key", f"key name {name!r} contains a space or '+'")
    if _CONTROL_RE.search(name):
        raise NoteError("verifier-key", f"key name {name!r} contains a control character")


def key_hash(name: str, public_key: PublicKey) -> int:
    """The key ID: big-endian uint32 of SHA-256(name || 0x0A || 0x01 || public key)[:4].

    It names the key in signature lines; it is short on purpose (an identifier, not a
    commitment), because verifiers are configured with the full public key anyway.
    """
    digest = hashlib.sha256(
        name.encode("utf-8") + b"\n" + bytes([ED25519_TYPE]) + public_key.raw
    ).digest()
    return int.from_bytes(digest[:_KEY_ID_SIZE], "big")


@final
class NoteVerifier:
    """An Ed25519 public key under a key name: checks note signatures by that name."""

    __slots__ = ("_key_hash", "_name", "_public_key")

    def __init__(self, name: str, public_key: PublicKey) -> None:
        check_key_name(name)
        self._name = name
        self._public_key = public_key
        self._key_hash = key_hash(name, public_key)

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        """Parse a verifier key ``<name>+<8 hex key ID>+<base64(0x01 || public key)>``.

        The key ID in the string must be the one computed from name and key: a mismatch
        means the string was edited or mis-assembled, and such a key would never match
        the signatures it is meant to check, so it is refused here rather than later.
        """
        name, sep1, rest = vkey.partition("+")
        hash_hex, sep2, material = rest.partition("+")
        if not sep1 or not sep2:
            raise NoteError("verifier-key", "verifier key must be <name>+<hash>+<key>")
        check_key_name(name)
        if not _HEX8_RE.fullmatch(hash_hex):
            raise NoteError("verifier-key", f"key hash {hash_hex!r} is not 8 lower-case hex digits")
        try:
            raw = b64decode_strict(material)
        except ValueError as exc:
            raise NoteError("verifier-key", f"verifier key material: {exc}") from exc
        if len(raw) != 1 + 32 or raw[0] != ED25519_TYPE:
            raise NoteError(
                "verifier-key",
                "verifier key material must be 0x01 followed by a 32-byte Ed25519 key",
            )
        try:
            public_key = PublicKey(raw[1:])
        except InvalidKeyError as exc:
            raise NoteError("verifier-key", str(exc)) from exc
        verifier = cls(name, public_key)
        if verifier.key_hash != int(hash_hex, 16):
            raise NoteError(
                "verifier-key",
                f"key hash {hash_hex} does not match name and key ({verifier.key_hash:08x})",
            )
        return verifier

    @property
    def name(self) -> str:
        """The key name, as it appears in signature lines."""
        return self._name

    @property
    def key_hash(self) -> int:
        """The 32-bit key ID."""
        return self._key_hash

    @property
    def public_key(self) -> PublicKey:
        """The Ed25519 public key."""
        return self._public_key

    @property
    def vkey(self) -> str:
        """The verifier key string to hand to auditors (inverse of `from_vkey`)."""
        material = b64encode(bytes([ED25519_TYPE]) + self._public_key.raw)
        return f"{self._name}+{self._key_hash:08x}+{material}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        """True if `signature` (without the key ID) is this key's signature of `text`."""
        return self._public_key.verify(signature, text)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, NoteVerifier)
            and other._name == self._name
            and other._public_key == self._public_key
        )

    def __hash__(self) -> int:
        return hash((self._name, self._public_key))

    def __repr__(self) -> str:
        return f"NoteVerifier({self.vkey!r})"


@final
class NoteSigner:
    """A `SigningKey` under a key name: produces signature lines of signed notes."""

    __slots__ = ("_key", "_verifier")

    def __init__(self, name: str, key: SigningKey) -> None:
        self._key = key
        self._verifier = NoteVerifier(name, key.public_key)

    @property
    def name(self) -> str:
        """The key name."""
        return self._verifier.name

    @property
    def key_hash(self) -> int:
        """The 32-bit key ID."""
        return self._verifier.key_hash

    @property
    def verifier(self) -> NoteVerifier:
        """The matching verifier (publish its `vkey`)."""
        return self._verifier

    def signature_line(self, text: str) -> str:
        """``— <name> base64(key ID || Ed25519 signature of text)`` and a newline."""
        signature = self._key.sign(text.encode("utf-8"))
        blob = self.key_hash.to_bytes(_KEY_ID_SIZE, "big") + signature
        return f"{EM_DASH} {self.name} {b64encode(blob)}\n"

    def __repr__(self) -> str:
        return f"NoteSigner({self.name!r}, {self.key_hash:08x})"


def _check_text(text: str) -> None:
    """Raise `NoteError` unless `text` can be the text of a signed note."""
    if not text.endswith("\n"):
        raise NoteError("malformed", "note text must end with a newline")
    _check_characters(text)


def _check_characters(data: str) -> None:
    try:
        data.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise NoteError("malformed", f"note is not valid UTF-8: {exc.reason}") from exc
    match = _CONTROL_RE.search(data)
    if match:
        raise NoteError(
            "malformed",
            f"note contains the control character U+{ord(match.group()):04X} at {match.start()}",
        )


def sign_note(text: str, signers: Iterable[NoteSigner]) -> str:
    """The signed note: `text`, a blank line, then one signature line per signer.

    At least one signer is required, and no two with the same key name and key ID: a
    verifier could not tell which of the two signatures is meant.
    """
    _check_text(text)
    signers = list(signers)
    if not signers:
        raise NoteError("malformed", "a signed note needs at least one signer")
    if len(signers) > MAX_SIGNATURES:
        raise NoteError("malformed", f"more than {MAX_SIGNATURES} signers")
    ids = [(s.name, s.key_hash) for s in signers]
    if len(set(ids)) != len(ids):
        raise NoteError("malformed", "two signers share a key name and key ID")
    return text + "\n" + "".join(signer.signature_line(text) for signer in signers)


def _parse_signature_line(line: str) -> tuple[str, int, bytes]:
    """(key name, key ID, signature) of one signature line without its newline."""
    prefix = EM_DASH + " "
    if not line.startswith(prefix):
        raise NoteError("malformed", f"signature line does not start with an em dash: {line!r}")
    name, sep, blob_b64 = line[len(prefix) :].partition(" ")
    if not sep:
        raise NoteError("malformed", f"signature line has no signature: {line!r}")
    try:
        check_key_name(name)
    except NoteError as exc:
        raise NoteError("malformed", f"signature line: {exc}") from exc
    try:
        blob = b64decode_strict(blob_b64)
    except ValueError as exc:
        raise NoteError("malformed", f"signature of {name!r}: {exc}") from exc
    if len(blob) <= _KEY_ID_SIZE:
        raise NoteError("malformed", f"signature of {name!r} is too short")
    return name, int.from_bytes(blob[:_KEY_ID_SIZE], "big"), blob[_KEY_ID_SIZE:]


def open_note(note: str | bytes, verifiers: Iterable[NoteVerifier]) -> tuple[str, tuple[str, ...]]:
    """Check `note` against trusted `verifiers`; return its text and the verified key names.

    Raises `NoteError` if the note is malformed, if a signature by a known key (same name
    and key ID) does not verify, or if no known key signed it. Signatures by other keys,
    including keys sharing only the name or only the ID with a known key, are ignored as
    the spec requires; they are not in the returned names. Two signature lines with the
    same key name and ID are refused as malformed (the spec does not allow for them, and
    a verifier could not say which one counts). The text must not be trusted before this
    returns.
    """
    known: dict[tuple[str, int], NoteVerifier] = {}
    for verifier in verifiers:
        ident = (verifier.name, verifier.key_hash)
        if ident in known and known[ident] != verifier:
            raise NoteError(
                "verifier-key",
                f"two verifiers share key name {verifier.name!r} and ID {verifier.key_hash:08x}",
            )
        known[ident] = verifier
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NoteError("malformed", f"note is not valid UTF-8: {exc.reason}") from exc
    _check_characters(note)
    # Signature lines contain no blank line, so the last one separates text and signatures.
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("malformed", "note has no blank line before its signatures")
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith("\n"):
        raise NoteError("malformed", "note has no signature lines ending in a newline")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError("malformed", f"note has more than {MAX_SIGNATURES} signatures")
    text_bytes = text.encode("utf-8")
    seen: set[tuple[str, int]] = set()
    verified: list[str] = []
    for line in lines:
        name, ident_hash, signature = _parse_signature_line(line)
        ident = (name, ident_hash)
        if ident in seen:
            raise NoteError("malformed", f"two signatures by {name} {ident_hash:08x}")
        seen.add(ident)
        trusted = known.get(ident)
        if trusted is None:
            continue
        if len(signature) != _ED25519_SIGNATURE_SIZE or not trusted.verify(text_bytes, signature):
            raise NoteError(
                "bad-signature",
                f"the signature by known key {name} {ident_hash:08x} does not verify",
            )
        verified.append(name)
    if not verified:
        signers = ", ".join(f"{name} {h:08x}" for name, h in sorted(seen)) or "none"
        raise NoteError("unverified", f"no signature by a known key (signed by: {signers})")
    return text, tuple(verified)
