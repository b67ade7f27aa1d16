"""Sealed content: learner text kept outside the signed records, so it can be erased.

A record signs its event for ever, so text inside a signed event can never be removed
without breaking the record's signature and every chain and Merkle hash above it. Text that
a learner may ask to have erased is therefore *sealed* before signing: the event keeps, in
place of the string, a reference ``{"$content": "sha256:<hex>"}`` naming a commitment, and
the text goes into the store's content table next to the random salt that makes the
commitment. Erasing deletes the row; the record, its signature and the log's hashes stay
exactly as they were, and the commitment still proves what was said to anyone who kept a
copy of the text.

The commitment is SHA-256 over ``salt || UTF-8(text)`` with a fresh 16-byte salt per
sealed string. Without the salt an erased short answer ("yes", a date of birth) could be
recovered by hashing guesses; with it the commitment says nothing about the text once the
row is gone, and two equal strings never share a commitment.

This module is the format only: sealing chosen fields of an event, finding references in a
payload, checking sealed text against its commitment, putting text back for readers.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

SEALED_KEY: Final = "$content"
COMMITMENT_PREFIX: Final = "sha256:"
SALT_BYTES: Final = 16
ERASED_TEXT: Final = "[erased]"
ANY_ITEM: Final = "*"  # a path step matching every item of a list

_COMMITMENT: Final = re.compile(r"^sha256:[0-9a-f]{64}\Z")

#: A path to a string field inside an event: dict keys, list indexes, and ANY_ITEM for
#: every item of a list.
FieldPath = tuple[str | int, ...]


class ContentError(ValueError):
    """Sealed text that does not fit the events it is written with."""


@dataclass(frozen=True, slots=True)
class SealedText:
    """One sealed string: what the content table stores for one commitment."""

    commitment: str
    salt: bytes
    text: str

    def matches(self) -> bool:
        """True when `commitment` really is the commitment to `salt` and `text`."""
        return len(self.salt) == SALT_BYTES and commit(self.salt, self.text) == self.commitment


def commit(salt: bytes, text: str) -> str:
    """The commitment to `text` under `salt`: ``sha256:`` + hex SHA-256(salt || UTF-8 text)."""
    return COMMITMENT_PREFIX + hashlib.sha256(salt + text.encode("utf-8")).hexdigest()


def seal(text: str, salt: bytes | None = None) -> SealedText:
    """Seal `text` under `salt` (a fresh random one by default)."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    if len(salt) != SALT_BYTES:
        raise ContentError(f"a salt is {SALT_BYTES} bytes, not {len(salt)}")
    return SealedText(commit(salt, text), salt, text)


def is_commitment(value: object) -> bool:
    return isinstance(value, str) and _COMMITMENT.match(value) is not None


def reference(commitment: str) -> dict[str, str]:
    """What a sealed field holds in the signed event."""
    return {SEALED_KEY: commitment}


def referenced(value: object) -> str | None:
    """The commitment `value` refers to, if it is exactly a sealed reference."""
    if isinstance(value, dict) and len(value) == 1 and SEALED_KEY in value:
        target = value[SEALED_KEY]
        return target if isinstance(target, str) else None
    return None


def seal_fields(
    event: Mapping[str, Any], paths: Sequence[FieldPath]
) -> tuple[dict[str, Any], list[SealedText]]:
    """A copy of `event` with the strings at `paths` sealed, and what was sealed (in order).

    A path that is absent, null or not a string in this event is left alone: the fields a
    rule names are optional in most events (a finding without a quote).
    """
    sealed: list[SealedText] = []
    result = dict(event)
    for path in paths:
        result = _seal_at(result, path, sealed)
    return result, sealed


def _seal_at(value: Any, path: FieldPath, sealed: list[SealedText]) -> Any:
    if not path:
        if isinstance(value, str):
            done = seal(value)
            sealed.append(done)
            return reference(done.commitment)
        return value
    step, rest = path[0], path[1:]
    if step == ANY_ITEM:
        if isinstance(value, list | tuple):
            return [_seal_at(item, rest, sealed) for item in value]
        return value
    if isinstance(step, int):
        if isinstance(value, list | tuple) and 0 <= step < len(value):
            items = list(value)
            items[step] = _seal_at(items[step], rest, sealed)
            return items
        return value
    if isinstance(value, Mapping) and step in value:
        copy = dict(value)
        copy[step] = _seal_at(value[step], rest, sealed)
        return copy
    return value


def references(value: object) -> Iterator[str]:
    """Every commitment a sealed reference anywhere inside `value` names, in document order.

    A ``$content`` object whose target is not a well-formed commitment is yielded too (as
    given), so the verifier reports it rather than overlooking it.
    """
    stack: list[object] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if SEALED_KEY in item:
                target = item[SEALED_KEY]
                yield target if isinstance(target, str) and len(item) == 1 else repr(item)
                continue
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))


def rehydrate(value: Any, texts: Mapping[str, str], missing: str = ERASED_TEXT) -> Any:
    """`value` with each sealed reference replaced by its text from `texts` (commitment to
    text), or by `missing` where the text is not available (erased, or not exported)."""
    if isinstance(value, dict):
        target = referenced(value)
        if target is not None:
            return texts.get(target, missing)
        return {key: rehydrate(item, texts, missing) for key, item in value.items()}
    if isinstance(value, list):
        return [rehydrate(item, texts, missing) for item in value]
    return value


def check_sealed(events: Sequence[Mapping[str, Any]], sealed: Sequence[SealedText]) -> None:
    """Refuse sealed text that does not belong to `events`, exactly.

    Every reference in the events needs its sealed text (else the record would point at
    nothing), every sealed text a reference (else it could never be erased by its record),
    each commitment once, each one true to its salt and text. Raises `ContentError`.
    """
    given: dict[str, SealedText] = {}
    for item in sealed:
        if not item.matches():
            raise ContentError(f"sealed text {item.commitment!r} does not match its commitment")
        if item.commitment in given:
            raise ContentError(f"commitment {item.commitment} is sealed twice")
        given[item.commitment] = item
    wanted: set[str] = set()
    for event in events:
        for target in references(event):
            if not is_commitment(target):
                raise ContentError(f"malformed sealed reference {target}")
            if target in wanted:
                raise ContentError(f"commitment {target} is referenced twice")
            wanted.add(target)
    if wanted != given.keys():
        unsealed = sorted(wanted - given.keys())
        unreferenced = sorted(given.keys() - wanted)
        raise ContentError(
            "sealed text and references differ: "
            f"referenced without text {unsealed[:3]}, text without reference {unreferenced[:3]}"
        )
